// What the property-based fuzz tests (*.fuzz.test.ts) share: how many runs and which seed (FUZZ_RUNS, FUZZ_SEED),
// and arbitraries of broken input built from a valid document: fields dropped, types changed, values swapped, YAML
// syntax broken, binary bytes, huge values, deep nesting, plain random text. Test-only (fast-check is a
// devDependency): nothing outside *.test.ts imports this.
import fc from 'fast-check';
import { stringify } from 'yaml';

export interface FuzzParams {
  numRuns: number;
  seed?: number;
  path?: string;
  includeErrorInReport: boolean;
}

/**
 * fast-check parameters of one fuzz test: `runs` cases unless FUZZ_RUNS says otherwise (FUZZ_RUNS=20000 for a long
 * hunt), seeded by FUZZ_SEED when given. A failure's message names the seed and the path of the shrunk case;
 * FUZZ_SEED=<seed> FUZZ_PATH=<path> replays exactly that case.
 */
export function fuzzParams(runs: number): FuzzParams {
  const env = process.env;
  const numRuns = env.FUZZ_RUNS ? Number(env.FUZZ_RUNS) : runs;
  if (!Number.isInteger(numRuns) || numRuns < 1) throw new Error(`FUZZ_RUNS=${env.FUZZ_RUNS}: expected a positive integer`);
  // the failing case's own error message in the report, not only as its cause
  const out: FuzzParams = { numRuns, includeErrorInReport: true };
  if (env.FUZZ_SEED) out.seed = Number(env.FUZZ_SEED);
  if (env.FUZZ_PATH) out.path = env.FUZZ_PATH;
  return out;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** values a field may be changed into: every JSON type, and the edge cases of each */
export const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', ' ', '0', 'true', 'null', '~', '\t', '\u0000', '\uFFFD', '💥', 'a'.repeat(5000), [], {}, [null], { '': '' }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.json({ maxDepth: 3 }).map((s) => JSON.parse(s) as Json),
);

/** every path to a value inside `v`, parents before children */
function paths(v: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function get(v: Json, p: ReadonlyArray<string | number>): Json {
  let cur: Json = v;
  for (const k of p) cur = (cur as Record<string | number, Json>)[k];
  return cur;
}

function set(v: Json, p: ReadonlyArray<string | number>, value: Json | undefined): Json {
  if (p.length === 0) return value ?? null;
  const [k, ...rest] = p;
  if (Array.isArray(v)) {
    const copy = [...v];
    if (rest.length === 0 && value === undefined) copy.splice(Number(k), 1);
    else copy[Number(k)] = set(copy[Number(k)], rest, value);
    return copy;
  }
  const copy = { ...(v as Record<string, Json>) };
  if (rest.length === 0 && value === undefined) delete copy[k];
  else copy[k] = set(copy[k], rest, value);
  return copy;
}

type Edit =
  | { op: 'drop' | 'dup'; at: number }
  | { op: 'retype'; at: number; value: Json }
  | { op: 'swap'; at: number; with: number }
  | { op: 'rename'; at: number; key: string };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constantFrom('drop' as const, 'dup' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('retype' as const), at: fc.nat(), value: oddValue }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'kind', 'name', 'spec', 'metadata', 'Name', 'nodes', 'steps')) }),
);

function applyEdit(doc: Json, e: Edit): Json {
  const all = paths(doc);
  const p = all[e.at % all.length];
  switch (e.op) {
    case 'drop':
      return p.length ? set(doc, p, undefined) : doc;
    case 'retype':
      return set(doc, p, e.value);
    case 'swap': {
      const q = all[e.with % all.length];
      // a path and one inside it cannot trade places
      if (q.length > p.length ? p.every((k, i) => q[i] === k) : q.every((k, i) => p[i] === k)) return doc;
      const a = get(doc, p);
      return set(set(doc, p, get(doc, q)), q, a);
    }
    case 'dup': {
      const parent = p.slice(0, -1);
      const holder = get(doc, parent);
      if (!Array.isArray(holder)) return doc;
      return set(doc, parent, [...holder, holder[Number(p[p.length - 1])]]);
    }
    case 'rename': {
      const parent = p.slice(0, -1);
      const holder = get(doc, parent);
      if (!p.length || Array.isArray(holder) || holder === null || typeof holder !== 'object') return doc;
      const entries = Object.entries(holder).map(([k, x]): [string, Json] => [k === p[p.length - 1] ? e.key : k, x]);
      return set(doc, parent, Object.fromEntries(entries) as Json);
    }
  }
}

/** `doc` with 1–4 structural edits */
export function mutatedValue(doc: Json): fc.Arbitrary<Json> {
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => edits.reduce(applyEdit, doc));
}

/** `doc` with 1–4 structural edits, written as YAML */
export function mutatedDocument(doc: Json): fc.Arbitrary<string> {
  return mutatedValue(doc).map((v) => stringify(v));
}

/** pieces that mean something to a YAML parser */
const yamlBits = fc.constantFrom(':', ': ', '-', '- ', '[', ']', '{', '}', ',', '"', "'", '#', '&a ', '*a', '*b', '!!binary ', '!!str ', '!x ', '? ', '|', '>', '\t', '\n', '\n  ', '---\n', '...\n', '%YAML 1.2\n', '<<: ', '\u0000', '\uFEFF', '\r', '\\', '@', '`');

type TextEdit = { op: 'insert'; at: number; text: string } | { op: 'delete'; at: number; len: number } | { op: 'indent'; line: number; by: number } | { op: 'dupLine'; line: number } | { op: 'truncate'; at: number };

const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(yamlBits, fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ op: fc.constant('dupLine' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyTextEdit(text: string, e: TextEdit): string {
  const n = text.length + 1;
  switch (e.op) {
    case 'insert':
      return text.slice(0, e.at % n) + e.text + text.slice(e.at % n);
    case 'delete':
      return text.slice(0, e.at % n) + text.slice((e.at % n) + e.len);
    case 'truncate':
      return text.slice(0, e.at % n);
    case 'indent':
    case 'dupLine': {
      const lines = text.split('\n');
      const i = e.line % lines.length;
      if (e.op === 'dupLine') lines.splice(i, 0, lines[i]);
      else lines[i] = e.by >= 0 ? ' '.repeat(e.by) + lines[i] : lines[i].slice(-e.by);
      return lines.join('\n');
    }
  }
}

/** YAML text with 1–5 edits of its characters and lines: the syntax broken in every way a hand edit breaks it */
export function brokenText(text: string): fc.Arbitrary<string> {
  return fc.array(textEdit, { minLength: 1, maxLength: 5 }).map((edits) => edits.reduce(applyTextEdit, text));
}

/** bytes that are not a text file, read as UTF-8 the way the loaders read files */
export const binaryText: fc.Arbitrary<string> = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8'));

/** collections nested far deeper than any real file (the parsers recurse) */
export const deepNesting: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('[', '{', '- ', '{a: ', 'a:\n', '[{a: '), fc.integer({ min: 50, max: 4000 }), fc.boolean())
  .map(([open, depth, indent]) => (open === 'a:\n' && indent ? Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}a:`).join('\n') : open.repeat(depth)) + 'x');

/** a file that defines an anchor and refers to it again and again (a "billion laughs") */
export const aliasBomb: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 3, max: 9 }), fc.constantFrom('', 'spec:\n  ', 'x: ')).map(([levels, width, lead]) => {
  const lines = ['a0: &a0 [lol]'];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lead}${lines.join(lead ? '\n  ' : '\n')}\n`;
});

/** every kind of input a YAML file loader must survive, around one valid document */
export function yamlInputs(valid: Json): fc.Arbitrary<string> {
  const text = stringify(valid);
  return fc.oneof(
    { arbitrary: mutatedDocument(valid), weight: 5 },
    { arbitrary: brokenText(text), weight: 5 },
    { arbitrary: mutatedDocument(valid).chain(brokenText), weight: 2 },
    { arbitrary: binaryText, weight: 1 },
    { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }), weight: 1 },
    { arbitrary: deepNesting, weight: 1 },
    { arbitrary: aliasBomb, weight: 1 },
  );
}

/** how many lines a text has, as the loaders count them (a final newline starts one more, empty, line) */
export function lineCount(text: string): number {
  return text.split('\n').length;
}

/** what an issue of a file must say: the file, a line within it (1-based) and a column, a message */
export interface NamedIssue {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

/**
 * What is wrong with the issues a loader reported for `text` read as `file`, or undefined: each names the file, a
 * line of it and a column, and a message. The field may be '' only for what concerns the document as a whole (YAML
 * syntax, not text, empty, keys that are not strings at the top). Issues of other files (a scenario's topology or
 * manifest files) are checked against `others`' texts.
 */
export function issueProblem(issues: readonly NamedIssue[], file: string, text: string, others: Record<string, string> = {}): string | undefined {
  if (issues.length === 0) return 'an error without issues';
  for (const i of issues) {
    const own = i.file === file ? text : others[i.file];
    if (own === undefined) return `an issue names the file ${JSON.stringify(i.file)}, not ${file}: ${JSON.stringify(i)}`;
    if (!Number.isInteger(i.line) || i.line < 1 || i.line > lineCount(own)) return `line ${i.line} is not a line of ${i.file} (${lineCount(own)} lines): ${JSON.stringify(i)}`;
    if (!Number.isInteger(i.column) || i.column < 1) return `column ${i.column} is not a column: ${JSON.stringify(i)}`;
    if (typeof i.field !== 'string') return `no field: ${JSON.stringify(i)}`;
    if (typeof i.message !== 'string' || !i.message.trim()) return `no message: ${JSON.stringify(i)}`;
    if (i.message.length > 2000) return `a message of ${i.message.length} characters quotes too much: ${i.message.slice(0, 200)}…`;
  }
  return undefined;
}
