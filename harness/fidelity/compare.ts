// Comparing one scenario's observations on two backends, and printing the differences.
//
// Three parts:
//  - the settled state after each operation: operations are aligned by (step, phase, index) and the two
//    `what → value` maps diffed. A difference that stays exactly the same over the following operations is one
//    difference, printed once with how long it lasted, so a PF that differs once does not flood the output;
//  - the states in between: each ListAndWatch stream's distinct device lists are aligned by content (a longest
//    common subsequence), so one state only one side went through is one difference, marked transient, and the
//    states after it still pair up. States that were some operation's settled state are compared there instead;
//  - calls (Allocate, CNI), compared by their ordinal keys.
// Trace differences are reported at the operation that was running when the event happened (on backend A, else B).
import type { SourceLocation } from '../../reports/types.ts';
import type { BackendNames, Difference, FidelityTotals, OperationObservation, OperationRef, ScenarioComparison, ScenarioObservation, StateSequence, TraceObservation } from '../../reports/fidelity-types.ts';
export type { BackendNames, Difference, FidelityTotals, OperationRef, ScenarioComparison } from '../../reports/fidelity-types.ts';

export const ABSENT = '(absent)';



/**
 * values a device plugin and the kubelet update on their own schedule, not as a result of the operation: Node
 * resources and the device list a stream had sent when the operation settled
 */
export function timingSensitive(what: string): boolean {
  return /^\S+ (capacity|allocatable) /.test(what) || /^ListAndWatch .* devices$/.test(what);
}



function refOf(o: OperationObservation): OperationRef {
  return { stepName: o.stepName, title: o.title, phase: o.phase, ...(o.location ? { location: o.location } : {}) };
}

/** the differences of two flat maps, keys sorted */
export function diffMaps(a: Record<string, string>, b: Record<string, string>): Array<{ what: string; a: string; b: string }> {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: Array<{ what: string; a: string; b: string }> = [];
  for (const k of keys) {
    const va = a[k] ?? ABSENT;
    const vb = b[k] ?? ABSENT;
    if (va !== vb) out.push({ what: k, a: va, b: vb });
  }
  return out;
}

export function compareScenario(a: ScenarioObservation, b: ScenarioObservation, names: BackendNames): ScenarioComparison {
  const result: ScenarioComparison = { name: a.name, file: a.file, operationsCompared: 0, differences: [] };
  const skipped: Array<{ backend: string; reason: string }> = [];
  if (a.status === 'skipped') skipped.push({ backend: names.a, reason: a.skipReason ?? '' });
  if (b.status === 'skipped') skipped.push({ backend: names.b, reason: b.skipReason ?? '' });
  if (skipped.length) return { ...result, skipped };

  const labels = sideLabels(names);
  const failedOn = [a.status === 'failed' ? labels.a : '', b.status === 'failed' ? labels.b : ''].filter(Boolean);
  if (failedOn.length) result.failedOn = failedOn;
  const diffs = result.differences;
  if ((a.error ?? '') !== (b.error ?? '')) diffs.push({ what: 'scenario error', a: a.error ?? '(none)', b: b.error ?? '(none)', repeats: 0 });

  // operations: A's order, then any B ran that A did not
  const bByKey = new Map(b.operations.map((o) => [o.key, o]));
  const aKeys = new Set(a.operations.map((o) => o.key));
  const order: Array<{ a?: OperationObservation; b?: OperationObservation }> = a.operations.map((o) => ({ a: o, b: bByKey.get(o.key) }));
  for (const o of b.operations) if (!aKeys.has(o.key)) order.push({ b: o });

  let open = new Map<string, Difference>();
  /**
   * A timing-sensitive difference that ended is a race between the two runs, not counted: when it was gone after
   * the very next operation, or when it ended with the two sides agreeing on one side's value — the other side only
   * got there later (a device plugin under TCG advertises new VFs seconds after the simulator's did).
   */
  const close = (now: Map<string, Difference>, agreed: Record<string, string>) => {
    for (const [k, d] of open) {
      if (now.has(k) || !timingSensitive(d.what)) continue;
      const v = agreed[k] ?? ABSENT;
      if (d.repeats === 0 || v === d.a || v === d.b) d.race = true;
    }
  };
  for (const pair of order) {
    const ref = refOf((pair.a ?? pair.b)!);
    if (!pair.a || !pair.b) {
      diffs.push({ operation: ref, what: 'operation', a: pair.a ? 'ran' : 'not run', b: pair.b ? 'ran' : 'not run', repeats: 0 });
      open = new Map();
      continue;
    }
    result.operationsCompared++;
    const now = new Map<string, Difference>();
    for (const d of diffMaps(pair.a.values, pair.b.values)) {
      const prev = open.get(d.what);
      if (prev && prev.a === d.a && prev.b === d.b) {
        prev.repeats++;
        prev.until = ref;
        now.set(d.what, prev);
      } else {
        const nd: Difference = { operation: ref, ...d, repeats: 0 };
        diffs.push(nd);
        now.set(d.what, nd);
      }
    }
    close(now, pair.a.values);
    open = now;
  }

  // trace sequences
  const opAt = (s: ScenarioObservation, atMs: number): OperationRef | undefined => {
    let key: string | undefined;
    for (const t of s.timeline) if (t.startMs <= atMs) key = t.key;
    const o = key ? s.operations.find((x) => x.key === key) : undefined;
    return o ? refOf(o) : undefined;
  };
  for (const d of compareStates(a.states ?? [], b.states ?? [])) {
    const operation = d.a !== undefined ? opAt(a, d.a.atMs) : opAt(b, d.b!.atMs);
    diffs.push({ ...(operation ? { operation } : {}), what: `${d.what} devices (in between)`, a: d.a?.value ?? ABSENT, b: d.b?.value ?? ABSENT, repeats: 0, transient: true });
  }
  const ta = new Map<string, TraceObservation>(a.trace.map((t) => [t.what, t]));
  const tb = new Map<string, TraceObservation>(b.trace.map((t) => [t.what, t]));
  const seen = new Set<string>();
  for (const t of [...a.trace, ...b.trace]) {
    if (seen.has(t.what)) continue;
    seen.add(t.what);
    const x = ta.get(t.what);
    const y = tb.get(t.what);
    if (x && y && x.value === y.value) continue;
    const operation = x ? opAt(a, x.atMs) : opAt(b, y!.atMs);
    diffs.push({ ...(operation ? { operation } : {}), what: t.what, a: x?.value ?? ABSENT, b: y?.value ?? ABSENT, repeats: 0 });
  }
  return result;
}

type State = StateSequence['states'][number];

/** the longest common subsequence of two value lists, as index pairs */
export function lcsPairs(a: readonly string[], b: readonly string[]): Array<[number, number]> {
  const m = a.length;
  const n = b.length;
  const len: number[][] = Array.from({ length: m + 1 }, () => new Array<number>(n + 1).fill(0));
  for (let i = m - 1; i >= 0; i--) for (let j = n - 1; j >= 0; j--) len[i][j] = a[i] === b[j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
  const out: Array<[number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < m && j < n) {
    if (a[i] === b[j]) {
      out.push([i, j]);
      i++;
      j++;
    } else if (len[i + 1][j] >= len[i][j + 1]) i++;
    else j++;
  }
  return out;
}

/**
 * The in-between states of each stream that the other side did not go through: aligned by content; between two
 * matched states, the unmatched ones of A and of B pair up in order (one difference each pair); a state that was an
 * operation's settled state on its side is left out (the operation's comparison has it).
 */
export function compareStates(a: readonly StateSequence[], b: readonly StateSequence[]): Array<{ what: string; a?: State; b?: State }> {
  const out: Array<{ what: string; a?: State; b?: State }> = [];
  const bBy = new Map(b.map((s) => [s.what, s]));
  const whats = [...new Set([...a.map((s) => s.what), ...b.map((s) => s.what)])].sort();
  const aBy = new Map(a.map((s) => [s.what, s]));
  for (const what of whats) {
    const sa = aBy.get(what)?.states ?? [];
    const sb = bBy.get(what)?.states ?? [];
    const pairs = lcsPairs(sa.map((x) => x.value), sb.map((x) => x.value));
    let i = 0;
    let j = 0;
    for (const [pi, pj] of [...pairs, [sa.length, sb.length] as [number, number]]) {
      const ga = sa.slice(i, pi).filter((x) => x.settledAfter.length === 0);
      const gb = sb.slice(j, pj).filter((x) => x.settledAfter.length === 0);
      for (let k = 0; k < Math.max(ga.length, gb.length); k++) out.push({ what, ...(ga[k] ? { a: ga[k] } : {}), ...(gb[k] ? { b: gb[k] } : {}) });
      i = pi + 1;
      j = pj + 1;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export function formatLocation(l: SourceLocation | undefined): string {
  return l ? `${l.file}:${l.line}` : '(no location)';
}

function opHeader(scenario: string, op: OperationRef | undefined): string {
  if (!op) return `${scenario} › (whole scenario)`;
  return `${scenario} › ${op.stepName} › ${op.phase === 'try' ? '' : `${op.phase}: `}${op.title} (${formatLocation(op.location)})`;
}

const show = (v: string) => (v === '' ? '""' : v);

/** every difference of one scenario, grouped under the operation they were seen after, then the summary line */
/** the labels of the two sides: the backend names, or "sim (A)"/"sim (B)" when both are the same backend */
export function sideLabels(names: BackendNames): BackendNames {
  return names.a === names.b ? { a: `${names.a} (A)`, b: `${names.b} (B)` } : names;
}

export function formatScenario(c: ScenarioComparison, backends: BackendNames): string {
  const names = sideLabels(backends);
  const lines: string[] = [];
  if (c.skipped) {
    for (const s of c.skipped) lines.push(`- ${c.name} (${c.file}): not compared: ${s.backend} cannot run it: ${s.reason}`);
    return `${lines.join('\n')}\n`;
  }
  const w = Math.max(names.a.length, names.b.length) + 1;
  let header: string | undefined;
  for (const d of c.differences) {
    const h = opHeader(c.name, d.operation);
    if (h !== header) {
      lines.push(`✗ ${h}`);
      header = h;
    }
    const race = d.repeats === 0 ? 'gone after the next operation' : `the sides agreed after ${d.repeats + 1} operations`;
    lines.push(`    ${d.what}${d.transient ? '  [transient: a state in between]' : ''}${d.race ? `  [race: ${race}; not counted]` : ''}`);
    lines.push(`      ${`${names.a}:`.padEnd(w)} ${show(d.a)}`);
    lines.push(`      ${`${names.b}:`.padEnd(w)} ${show(d.b)}`);
    if (d.repeats > 0 && d.until) {
      lines.push(`      (unchanged after the next ${d.repeats} operation${d.repeats === 1 ? '' : 's'}, until ${d.until.stepName} › ${d.until.title} (${formatLocation(d.until.location)}))`);
    }
  }
  const n = counted(c).length;
  const tr = c.differences.length - n;
  lines.push(`${n ? '✗' : '✓'} ${c.name} (${c.file}): ${c.operationsCompared} operation${c.operationsCompared === 1 ? '' : 's'} compared, ${n} difference${n === 1 ? '' : 's'}${tr ? ` (+${tr} race${tr === 1 ? '' : 's'})` : ''}${c.failedOn ? `; the scenario failed on ${c.failedOn.join(' and ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** the differences that count (not races) */
export function counted(c: ScenarioComparison): Difference[] {
  return c.differences.filter((d) => !d.race);
}


export function totals(all: readonly ScenarioComparison[]): FidelityTotals {
  const t: FidelityTotals = { scenarios: all.length, compared: 0, skipped: 0, operations: 0, differences: 0, transient: 0, races: 0 };
  for (const c of all) {
    if (c.skipped) t.skipped++;
    else t.compared++;
    t.operations += c.operationsCompared;
    t.differences += counted(c).length;
    t.transient += counted(c).filter((d) => d.transient).length;
    t.races += c.differences.length - counted(c).length;
  }
  return t;
}

export function formatTotals(all: readonly ScenarioComparison[], names: BackendNames): string {
  const t = totals(all);
  return `fidelity ${names.a} vs ${names.b}: ${t.scenarios} scenario${t.scenarios === 1 ? '' : 's'} (${t.compared} compared, ${t.skipped} skipped), ${t.operations} operations compared, ${t.differences} difference${t.differences === 1 ? '' : 's'}${t.transient ? ` (${t.transient} of them transient)` : ''}${t.races ? ` (+${t.races} race${t.races === 1 ? '' : 's'})` : ''}\n`;
}
