// Partial-object matching for assert/error, with placeholders for volatile values.
//
// Only the fields an expectation lists are compared (chainsaw/kuttl semantics):
// - a mapping matches when every listed key matches; other keys of the actual object are ignored;
// - a list matches when every listed element matches a different element of the actual list, in any order
//   (greedy, first unused match; Kubernetes lists such as conditions carry entries a scenario does not care about);
//   use `(length N)` on the list to pin its length;
// - a number matches the same number or a string spelling it ("4" — Kubernetes quantities are strings), and a
//   string of digits matches the number; booleans and null match only themselves (null also matches absent).
//
// Placeholders (string values of the expectation):
//   (any)              present, any value (null included)
//   (absent)           the field is absent (or null)
//   ~/regex/flags      String(value) matches the JavaScript regex, e.g. ~/^0000:01:/
//   >= 1  > 0  <= 4  < 4  == 2  != 0     numeric comparison; the value may be a number or a numeric string
//   (length N)  (length >= N) …          the length of a list, string or mapping (any comparison above)
//   \(any)             a leading backslash escapes: the literal string "(any)"
import { stringify } from 'yaml';
import type { JsonValue } from '../../reports/types.ts';
import { unifiedDiff } from '../../reports/diff.ts';
import { quoteShort } from '../../sim/yaml-issues.ts';

export type Comparator = '>=' | '>' | '<=' | '<' | '==' | '!=';

export type Placeholder =
  | { kind: 'any' }
  | { kind: 'absent' }
  | { kind: 'regex'; re: RegExp }
  | { kind: 'compare'; op: Comparator; n: number }
  | { kind: 'length'; op: Comparator; n: number }
  | { kind: 'literal'; value: string };

const COMPARE_RE = /^(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)$/;

/** what a string of an expectation means; undefined for a plain string */
export function parsePlaceholder(s: string): Placeholder | undefined {
  if (s.startsWith('\\')) return { kind: 'literal', value: s.slice(1) };
  if (s === '(any)') return { kind: 'any' };
  if (s === '(absent)') return { kind: 'absent' };
  const re = /^~\/(.*)\/([dgimsuy]*)$/s.exec(s);
  if (re) return { kind: 'regex', re: new RegExp(re[1], re[2].replace('g', '')) };
  const cmp = COMPARE_RE.exec(s.trim());
  if (cmp) return { kind: 'compare', op: cmp[1] as Comparator, n: Number(cmp[2]) };
  const len = /^\(length\s*(?:(>=|<=|==|!=|>|<)\s*)?(\d+)\)$/.exec(s.trim());
  if (len) return { kind: 'length', op: (len[1] as Comparator | undefined) ?? '==', n: Number(len[2]) };
  return undefined;
}

/** why a placeholder-looking string is malformed (for up-front validation), or undefined */
export function placeholderProblem(s: string): string | undefined {
  const re = /^~\/(.*)\/([a-z]*)$/s.exec(s);
  if (s.startsWith('~/')) {
    if (!re) return `${quoteShort(s)} looks like a regex placeholder but does not end in /flags; write ~/pattern/`;
    try {
      new RegExp(re[1], re[2].replace('g', ''));
    } catch (e) {
      return `bad regex in ${quoteShort(s)}: ${(e as Error).message}`;
    }
  }
  if (/^\(length/.test(s) && !parsePlaceholder(s)) return `"${s}" is not a length placeholder; write (length 2) or (length >= 1)`;
  return undefined;
}

function compare(op: Comparator, a: number, b: number): boolean {
  switch (op) {
    case '>=':
      return a >= b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '<':
      return a < b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

function toNumber(v: JsonValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function lengthOf(v: JsonValue | undefined): number | undefined {
  if (Array.isArray(v) || typeof v === 'string') return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  return undefined;
}

export interface Mismatch {
  /** e.g. status.phase, spec.containers[0].name */
  path: string;
  message: string;
}

export interface MatchResult {
  ok: boolean;
  mismatches: Mismatch[];
  /** the expectation as YAML */
  expectedText: string;
  /** the actual object as YAML, cut down to the fields the expectation lists; matched values print as expected */
  actualText: string;
  /** unified diff expected → actual; '' when ok */
  diff: string;
}

const ABSENT = Symbol('absent');
type Actual = JsonValue | typeof ABSENT;

function show(v: Actual): string {
  if (v === ABSENT) return 'nothing (absent)';
  return JSON.stringify(v);
}

function joinKey(path: string, key: string): string {
  const k = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  return path ? (k.startsWith('[') ? `${path}${k}` : `${path}.${k}`) : k;
}

/** compares; returns the mismatches and the view of `actual` seen through `expected` (for the diff) */
function walk(expected: JsonValue, actual: Actual, path: string, out: Mismatch[]): { view: Actual } {
  if (typeof expected === 'string') {
    const ph = parsePlaceholder(expected);
    if (ph && ph.kind !== 'literal') {
      const ok = placeholderMatches(ph, actual);
      if (!ok) out.push({ path, message: `expected ${expected}, got ${show(actual)}` });
      return { view: ok ? expected : actual };
    }
    const want = ph?.kind === 'literal' ? ph.value : expected;
    const ok = actual === want || (typeof actual === 'number' && String(actual) === want);
    if (!ok) out.push({ path, message: `expected ${JSON.stringify(want)}, got ${show(actual)}` });
    return { view: ok ? expected : actual };
  }
  if (typeof expected === 'number') {
    const ok = actual === expected || (typeof actual === 'string' && toNumber(actual) === expected);
    if (!ok) out.push({ path, message: `expected ${expected}, got ${show(actual)}` });
    return { view: ok ? expected : actual };
  }
  if (expected === null) {
    const ok = actual === null || actual === ABSENT;
    if (!ok) out.push({ path, message: `expected null, got ${show(actual)}` });
    return { view: ok ? null : actual };
  }
  if (typeof expected === 'boolean') {
    const ok = actual === expected;
    if (!ok) out.push({ path, message: `expected ${expected}, got ${show(actual)}` });
    return { view: ok ? expected : actual };
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      out.push({ path, message: `expected a list, got ${show(actual)}` });
      return { view: actual };
    }
    const used = new Set<number>();
    const view: Array<JsonValue | undefined> = new Array(expected.length);
    const unmatched: number[] = [];
    expected.forEach((e, i) => {
      for (let j = 0; j < actual.length; j++) {
        if (used.has(j)) continue;
        const probe: Mismatch[] = [];
        walk(e, actual[j], '', probe);
        if (probe.length === 0) {
          used.add(j);
          view[i] = e;
          return;
        }
      }
      unmatched.push(i);
    });
    if (unmatched.length === 0) return { view: expected };
    // report against the actual element at the same position when there is one: the most useful diff in practice
    const rest = actual.map((a, j) => ({ a, j })).filter(({ j }) => !used.has(j));
    const views: JsonValue[] = [];
    expected.forEach((e, i) => {
      if (!unmatched.includes(i)) {
        views.push(e);
        return;
      }
      // the closest remaining element: the fewest mismatching fields
      let best = -1;
      let bestCount = Infinity;
      rest.forEach(({ a }, k) => {
        const probe: Mismatch[] = [];
        walk(e, a, '', probe);
        if (probe.length < bestCount) [best, bestCount] = [k, probe.length];
      });
      const candidate = best >= 0 ? rest.splice(best, 1)[0] : undefined;
      if (!candidate) {
        out.push({ path: `${path}[${i}]`, message: `no element of the list (${actual.length} item${actual.length === 1 ? '' : 's'}) matches` });
        return;
      }
      const sub: Mismatch[] = [];
      const v = walk(e, candidate.a, `${path}[${candidate.j}]`, sub);
      out.push({ path: `${path}[${i}]`, message: `no element of the list matches; closest is [${candidate.j}]: ${sub.map((m) => `${m.path}: ${m.message}`).join('; ')}` });
      if (v.view !== ABSENT) views.push(v.view);
    });
    return { view: views };
  }
  // a mapping
  if (actual === ABSENT || actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    out.push({ path, message: `expected a mapping, got ${show(actual)}` });
    return { view: actual };
  }
  const view: { [k: string]: JsonValue } = {};
  for (const [k, e] of Object.entries(expected)) {
    const sub = joinKey(path, k);
    const a: Actual = Object.prototype.hasOwnProperty.call(actual, k) ? actual[k] : ABSENT;
    const r = walk(e, a, sub, out);
    if (r.view !== ABSENT) view[k] = r.view;
  }
  return { view };
}

function placeholderMatches(ph: Placeholder, actual: Actual): boolean {
  switch (ph.kind) {
    case 'any':
      return actual !== ABSENT;
    case 'absent':
      return actual === ABSENT || actual === null;
    case 'regex':
      return actual !== ABSENT && actual !== null && typeof actual !== 'object' && ph.re.test(String(actual));
    case 'compare': {
      const n = actual === ABSENT ? undefined : toNumber(actual);
      return n !== undefined && compare(ph.op, n, ph.n);
    }
    case 'length': {
      const n = actual === ABSENT ? undefined : lengthOf(actual);
      return n !== undefined && compare(ph.op, n, ph.n);
    }
    case 'literal':
      return actual === ph.value;
  }
}

function yaml(v: Actual): string {
  if (v === ABSENT) return '';
  return stringify(v, { lineWidth: 0 });
}

/** Does `actual` match the partial `expected`? (undefined actual = the object does not exist) */
export function partialMatch(expected: JsonValue, actual: JsonValue | undefined): MatchResult {
  const mismatches: Mismatch[] = [];
  const a: Actual = actual === undefined ? ABSENT : actual;
  const { view } = walk(expected, a, '', mismatches);
  const expectedText = yaml(expected);
  const actualText = actual === undefined ? '' : yaml(view);
  const ok = mismatches.length === 0;
  return { ok, mismatches, expectedText, actualText, diff: ok ? '' : unifiedDiff(expectedText, actualText) };
}

/** a scalar expectation (sysfs value, …): placeholders allowed; plain strings compare after trimming whitespace */
export function matchScalar(expected: string, actual: string): boolean {
  const ph = parsePlaceholder(expected);
  if (ph && ph.kind !== 'literal') return placeholderMatches(ph, actual.trim());
  const want = ph?.kind === 'literal' ? ph.value : expected;
  return actual.trim() === want.trim();
}

/** every placeholder problem in an expectation, with its path (for validation before the run) */
export function expectationProblems(expected: JsonValue, path = ''): Mismatch[] {
  if (typeof expected === 'string') {
    const p = placeholderProblem(expected);
    return p ? [{ path, message: p }] : [];
  }
  if (Array.isArray(expected)) return expected.flatMap((e, i) => expectationProblems(e, `${path}[${i}]`));
  if (expected && typeof expected === 'object') {
    return Object.entries(expected).flatMap(([k, v]) => expectationProblems(v, joinKey(path, k)));
  }
  return [];
}
