// Comparing one scenario's observations on two backends, and printing the differences.
//
// Three parts:
//  - the settled state after each operation: operations are aligned by (step, phase, index) and the two
//    `what → value` maps diffed. A difference that stays exactly the same over the following operations is one
//    difference, printed once with how long it lasted, so a PF that differs once does not flood the output;
//  - the states in between: each ListAndWatch stream's distinct device lists are aligned by content (a longest
//    common subsequence), so one state only one side went through is one difference, marked transient, and the
//    states after it still pair up. States that were some operation's settled state are compared there instead;
//  - calls (Allocate, CNI): each sequence (per node, or per pod, interface and command) aligned by content the same
//    way, so a call only one side made (a retried ADD) is one difference and the calls after it still pair up.
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
    const key = sinceOperation(s.timeline, atMs)?.key;
    const o = key ? s.operations.find((x) => x.key === key) : undefined;
    return o ? refOf(o) : undefined;
  };
  for (const d of compareStates(a.states ?? [], b.states ?? [], { a: a.timeline, b: b.timeline })) {
    const operation = d.a !== undefined ? opAt(a, d.a.atMs) : opAt(b, d.b!.atMs);
    diffs.push({ ...(operation ? { operation } : {}), what: `${d.what} devices (in between)`, a: d.a?.value ?? ABSENT, b: d.b?.value ?? ABSENT, repeats: 0, transient: true, ...(d.raceWhy ? { race: true, raceWhy: d.raceWhy } : {}) });
  }
  for (const d of compareCalls(a.trace, b.trace)) {
    const operation = d.atA !== undefined ? opAt(a, d.atA) : opAt(b, d.atB!);
    diffs.push({ ...(operation ? { operation } : {}), what: d.what, a: d.a, b: d.b, repeats: 0, ...(d.oneSided ? { oneSided: true } : {}) });
  }
  return result;
}

type State = StateSequence['states'][number];

/** a trace key `SEQUENCE[i] FIELD`: the call's sequence, its index in it, and the field */
const CALL_KEY = /^(.*?)\[(\d+)\] (.+)$/;

interface Call {
  sequence: string;
  index: number;
  fields: Record<string, string>;
  atMs: number;
  /** every field, sorted: equal calls have equal signatures */
  signature: string;
  /** what the call came to: its exit code or gRPC status */
  outcome: string;
}

/** the trace's calls by sequence, in order, and the observations that are not calls */
export function callsOf(trace: readonly TraceObservation[]): { calls: Map<string, Call[]>; other: TraceObservation[] } {
  const byKey = new Map<string, Call>();
  const other: TraceObservation[] = [];
  for (const t of trace) {
    const m = CALL_KEY.exec(t.what);
    if (!m) {
      other.push(t);
      continue;
    }
    const key = `${m[1]}[${m[2]}]`;
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = { sequence: m[1], index: Number(m[2]), fields: {}, atMs: t.atMs, signature: '', outcome: '' }));
    c.fields[m[3]] = t.value;
    c.atMs = Math.min(c.atMs, t.atMs);
  }
  const calls = new Map<string, Call[]>();
  for (const c of byKey.values()) {
    c.signature = Object.entries(c.fields).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('\n');
    c.outcome = c.fields['exit code'] !== undefined ? `exit code ${c.fields['exit code']}` : (c.fields.status ?? '?');
    const list = calls.get(c.sequence) ?? [];
    list.push(c);
    calls.set(c.sequence, list);
  }
  for (const list of calls.values()) list.sort((x, y) => x.index - y.index);
  return { calls, other };
}

/** one call in a line: its outcome and, for a CNI error, its message */
function callSummary(c: Call): string {
  const msg = c.fields['result.msg'];
  return `${c.outcome}${msg !== undefined ? `: ${msg}` : ''}`;
}

export interface CallDifference {
  what: string;
  a: string;
  b: string;
  /** when it happened on each side (ms since the scenario started) */
  atA?: number;
  atB?: number;
  /** a call only one side made */
  oneSided?: boolean;
}

/**
 * The calls of two traces, each sequence aligned by content (lcsPairs over whole calls): equal calls pair up; between
 * two such pairs, the leftover calls of A and B pair up by outcome first (a failed ADD with a failed ADD), then in
 * order, and are compared field by field; a leftover call the other side has no partner for is one difference.
 * Observations that are not calls are compared by key.
 */
export function compareCalls(a: readonly TraceObservation[], b: readonly TraceObservation[]): CallDifference[] {
  const out: CallDifference[] = [];
  const ca = callsOf(a);
  const cb = callsOf(b);
  const sequences = [...new Set([...ca.calls.keys(), ...cb.calls.keys()])].sort();
  for (const seq of sequences) {
    const xa = ca.calls.get(seq) ?? [];
    const xb = cb.calls.get(seq) ?? [];
    for (const gap of unmatchedGaps(xa, xb, (c) => c.signature)) {
      const ga = gap.a.map((k) => xa[k]);
      const gb = gap.b.map((k) => xb[k]);
      // the leftovers pair by outcome first; what is left of them pairs in order, around those pairs
      const matched: Array<[Call | undefined, Call | undefined]> = [];
      for (const g of unmatchedGaps(ga, gb, (c) => c.outcome)) {
        matched.push(...zip(g.a.map((k) => ga[k]), g.b.map((k) => gb[k])));
        if (g.then) matched.push([ga[g.then[0]], gb[g.then[1]]]);
      }
      for (const [x, y] of matched) {
        const at = { ...(x ? { atA: x.atMs } : {}), ...(y ? { atB: y.atMs } : {}) };
        if (x && y) {
          for (const d of diffMaps(x.fields, y.fields)) out.push({ what: `${seq}[${x.index}] ${d.what}`, a: d.a, b: d.b, ...at });
        } else {
          const c = (x ?? y)!;
          out.push({ what: `${seq}[${c.index}]`, a: x ? callSummary(x) : ABSENT, b: y ? callSummary(y) : ABSENT, ...at, oneSided: true });
        }
      }
    }
  }
  const ta = new Map(ca.other.map((t) => [t.what, t]));
  const tb = new Map(cb.other.map((t) => [t.what, t]));
  for (const what of [...new Set([...ta.keys(), ...tb.keys()])]) {
    const x = ta.get(what);
    const y = tb.get(what);
    if (x && y && x.value === y.value) continue;
    out.push({ what, a: x?.value ?? ABSENT, b: y?.value ?? ABSENT, ...(x ? { atA: x.atMs } : {}), ...(y ? { atB: y.atMs } : {}) });
  }
  return out;
}

/**
 * Two lists aligned by `key` (lcsPairs): the runs of items between two matched pairs (and before the first and after
 * the last), as index lists of A and of B, each with the matched pair that ends it (none for the last run).
 */
export function unmatchedGaps<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): Array<{ a: number[]; b: number[]; leading: boolean; then?: [number, number] }> {
  const out: Array<{ a: number[]; b: number[]; leading: boolean; then?: [number, number] }> = [];
  let i = 0;
  let j = 0;
  for (const [pi, pj] of [...lcsPairs(a.map(key), b.map(key)), [a.length, b.length] as [number, number]]) {
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
    out.push({ a: range(i, pi), b: range(j, pj), leading: i === 0 && j === 0, ...(pi < a.length ? { then: [pi, pj] as [number, number] } : {}) });
    i = pi + 1;
    j = pj + 1;
  }
  return out;
}

/** two lists zipped: [a[k], b[k]] for every k below the longer length */
function zip<T>(a: readonly T[], b: readonly T[]): Array<[T | undefined, T | undefined]> {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, k) => [a[k], b[k]]);
}

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

type Timeline = ScenarioObservation['timeline'];

const BEFORE_OTHER_STREAM = "the other side's stream began after it ended";
/**
 * a one-sided state shorter than this, between two equal states, is a blip a poller catches by chance: seen by one
 * poll of the bundled plugin (every 300 ms) and gone at the next. Longer ones count (the virtio NIC left down for
 * 0.4–2 s by a second `ip` call after DEL was a CNI bug this found).
 */
export const BLIP_MS = 500;

/**
 * `states[i]` is a blip: the stream left a state for it and went back to that same state within BLIP_MS. A device
 * plugin sees health by polling (the bundled one every 300 ms), so whether a run catches such a moment is chance:
 * on qemu the virt plugin caught the virtio NIC closed while the kernel moved it into a pod's netns
 * (`__dev_change_net_namespace` closes it first, and under TCG the move took a poll) in one run of three.
 */
function blip(states: readonly State[], i: number): string | undefined {
  const before = states[i - 1];
  const after = states[i + 1];
  if (!before || !after || before.value !== after.value) return undefined;
  const ms = after.atMs - states[i].atMs;
  return ms < BLIP_MS ? `a blip of ${ms} ms between two equal states, caught by one poll` : undefined;
}

/** ms since the start of the operation that was running at `atMs`, with that operation's key */
function sinceOperation(timeline: Timeline, atMs: number): { key: string; ms: number } | undefined {
  let at: Timeline[number] | undefined;
  for (const t of timeline) if (t.startMs <= atMs) at = t;
  return at ? { key: at.key, ms: atMs - at.startMs } : undefined;
}

/**
 * The in-between states of each stream that the other side did not go through: aligned by content; between two
 * matched states, the unmatched ones of A and of B pair up in order (one difference each pair); a state that was an
 * operation's settled state on its side is left out (the operation's comparison has it).
 *
 * A race (`raceWhy`): a state only one side's stream sent, in the leading gap (before the first state both sides
 * sent), when the other side's first message came (counted from the start of the same operation) only after this
 * state had already ended. The other side's plugin was not advertising yet while this
 * state lasted — it registers once it has devices, and under TCG that takes seconds — so it could not have shown
 * it: a race between the two runs, not a difference of the kernels. (The tutorial's VFs are reported Unhealthy
 * during the PF's carrier gap after `sriov_numvfs`, on qemu only when the guest's plugin is up in time.)
 */
export function compareStates(
  a: readonly StateSequence[],
  b: readonly StateSequence[],
  timelines?: { a: Timeline; b: Timeline },
): Array<{ what: string; a?: State; b?: State; raceWhy?: string }> {
  const out: Array<{ what: string; a?: State; b?: State; raceWhy?: string }> = [];
  const bBy = new Map(b.map((s) => [s.what, s]));
  const whats = [...new Set([...a.map((s) => s.what), ...b.map((s) => s.what)])].sort();
  const aBy = new Map(a.map((s) => [s.what, s]));
  /** `st` (index `i` of `own`) ended before `other`'s stream began, both counted from the same operation's start */
  const endedBeforeOther = (own: readonly State[], i: number, ownTl: Timeline, other: readonly State[], otherTl: Timeline): boolean => {
    const end = own[i + 1];
    const since = sinceOperation(ownTl, own[i].atMs);
    const otherStart = otherTl.find((t) => t.key === since?.key);
    if (!end || !since || !otherStart || other.length === 0) return false;
    const endedAfter = end.atMs - (own[i].atMs - since.ms);
    return other[0].atMs - otherStart.startMs >= endedAfter;
  };
  for (const what of whats) {
    const sa = aBy.get(what)?.states ?? [];
    const sb = bBy.get(what)?.states ?? [];
    for (const gap of unmatchedGaps(sa, sb, (x) => x.value)) {
      const unsettled = (states: readonly State[], idx: number[]) => idx.filter((k) => states[k].settledAfter.length === 0);
      for (const [x, y] of zip(unsettled(sa, gap.a), unsettled(sb, gap.b))) {
        let raceWhy: string | undefined;
        // the leading gap, where one side's stream may not have sent its first message yet
        if (gap.leading && timelines) {
          if (x !== undefined && y === undefined && endedBeforeOther(sa, x, timelines.a, sb, timelines.b)) raceWhy = BEFORE_OTHER_STREAM;
          if (y !== undefined && x === undefined && endedBeforeOther(sb, y, timelines.b, sa, timelines.a)) raceWhy = BEFORE_OTHER_STREAM;
        }
        if (x !== undefined && y === undefined) raceWhy ??= blip(sa, x);
        if (y !== undefined && x === undefined) raceWhy ??= blip(sb, y);
        out.push({ what, ...(x !== undefined ? { a: sa[x] } : {}), ...(y !== undefined ? { b: sb[y] } : {}), ...(raceWhy ? { raceWhy } : {}) });
      }
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
    const race = d.raceWhy ?? (d.repeats === 0 ? 'gone after the next operation' : `the sides agreed after ${d.repeats + 1} operations`);
    lines.push(`    ${d.what}${d.transient ? '  [transient: a state in between]' : ''}${d.oneSided ? '  [a call on one side only]' : ''}${d.race ? `  [race: ${race}; not counted]` : ''}`);
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
