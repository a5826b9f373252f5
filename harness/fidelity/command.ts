// `sriov-lab fidelity [PATH…] [--a sim] [--b qemu] [--seed N] [--filter GLOB]… [--device-plugin "CMD"] [--cni PATH]
//                     [--json FILE] [--html FILE] [--keep] [--jitter MS]`
//        `sriov-lab fidelity --from FILE.json [--json FILE] [--html FILE]`
// Runs each scenario on backend A, then on backend B (same seed, so the same per-scenario seed), observes both after
// every operation (observe.ts) and prints every difference (compare.ts).
// Exit codes: 0 no differences; 1 a difference, or the run was interrupted; 2 a usage error, an unknown backend, an
// invalid scenario file, or no scenario selected (nothing ran).
import { readFileSync, writeFileSync } from 'node:fs';
import type { FidelityResult } from '../../reports/fidelity-types.ts';
import { renderFidelityHtml } from '../../reports/fidelity-html.ts';
export type { FidelityResult } from '../../reports/fidelity-types.ts';
import type { Backend } from '../backend.ts';
import { parse } from '../cli/args.ts';
import type { Clock } from '../runner/clock.ts';
import { SCENARIO_RUN_OPTIONS, interruptOnSigint, loadScenarioPaths, scenarioRunFlags, toolVersion } from '../runner/command.ts';
import { matchesFilter } from '../runner/glob.ts';
import { backends as defaultRegistry, UnknownBackendError, type BackendRegistry } from '../runner/registry.ts';
import { runScenarios, scenarioInfoOf } from '../runner/runner.ts';
import type { BackendRunInfo } from '../backend.ts';
import { joinCommandLine } from '../runner/shell-words.ts';
import type { Scenario } from '../scenario/types.ts';
import { compareScenario, formatScenario, formatTotals, totals, type BackendNames, type ScenarioComparison } from './compare.ts';
import { Jitter, ScenarioObserver, recordingBackend, type QuietOptions, type ScenarioObservation } from './observe.ts';

export const FIDELITY_USAGE =
  'usage: sriov-lab fidelity [PATH…] [--a sim] [--b qemu] [--seed N] [--filter GLOB]… [--device-plugin "CMD"] [--cni PATH]\n' +
  '                          [--json FILE] [--html FILE] [--keep] [--jitter MS] [--jobs N]\n' +
  '       sriov-lab fidelity --from FILE.json [--json FILE] [--html FILE]\n' +
  '  --from FILE.json: compare again the observations an earlier `fidelity --json` recorded, without running\n' +
  '    anything (after an upgrade of sriov-lab, or to read an old run with today\'s rules).\n' +
  '  --jobs N: scenarios compared at once (default 1: a real kernel\'s timing is part of what is compared), each\n' +
  '    still on A then on B; the output stays in file order.\n' +
  '  Runs each scenario on backend A and on backend B and compares what each observed after every operation\n' +
  '  (sysfs of SR-IOV PFs/VFs, netdevs, VF settings, Node extended resources, sysfs read values and write errnos,\n' +
  '  Allocate, ListAndWatch devices, CNI results). PATH: scenario files or folders (default: scenarios/).\n' +
  '  --json FILE writes the differences as data (FidelityResult, docs/fidelity.md); --html FILE a page with each\n' +
  '  operation\'s observations side by side. --jitter MS waits a seeded random\n' +
  '  0..MS ms before each operation\'s calls and each observation, to check the comparison does not depend on timing.\n' +
  '  Exit code: 0 no differences, 1 differences (or interrupted), 2 usage error or invalid scenario.\n';

export interface FidelityCommandIo {
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown };
  registry?: BackendRegistry;
  signal?: AbortSignal;
  clock?: Clock;
  cwd?: string;
}


export interface FidelityOptions {
  a: Backend & BackendRunInfo;
  b: Backend & BackendRunInfo;
  seed: number;
  devicePlugin?: string[];
  cni?: string;
  keep?: boolean;
  signal?: AbortSignal;
  clock?: Clock;
  /** called with each scenario's comparison as soon as it is known */
  onScenario?: (c: ScenarioComparison, observations: { a: ScenarioObservation; b: ScenarioObservation }) => void;
  progress?: (line: string) => void;
  command?: string;
  /** how long Node resources must stay unchanged to be sampled (observe.ts quietResources) */
  quiet?: QuietOptions;
  /** injected timing jitter: at most this many ms before each call and observation, seeded from `seed` */
  jitterMs?: number;
  /** put each scenario's observations into the result (default false) */
  keepObservations?: boolean;
  /** scenarios compared at once (default 1); each one still runs on A, then on B */
  jobs?: number;
}

async function observeOn(s: Scenario, backend: Backend & BackendRunInfo, o: FidelityOptions, signal: AbortSignal, side: number): Promise<{ obs: ScenarioObservation; interrupted: boolean }> {
  // each side its own jitter sequence, so the two runs are shifted differently
  const jitter = o.jitterMs ? new Jitter((o.seed ^ Math.imul(side + 1, 0x9e3779b1)) >>> 0, o.jitterMs) : undefined;
  const observer = new ScenarioObserver(s.topology.nodes.map((n) => n.name), o.quiet, jitter);
  const run = await runScenarios([s], {
    backend: recordingBackend(backend, jitter),
    seed: o.seed,
    devicePlugin: o.devicePlugin,
    cni: o.cni,
    keep: o.keep,
    signal,
    clock: o.clock,
    command: o.command,
    toolVersion: toolVersion(),
    progress: o.progress,
    afterOperation: observer.hook,
  });
  return { obs: observer.finish(run.scenarios[0]), interrupted: run.run.interrupted === true };
}

/** each scenario on A then on B, compared; stops after the scenario during which the signal aborted */
export async function fidelity(scenarios: readonly Scenario[], o: FidelityOptions): Promise<FidelityResult> {
  const names: BackendNames = { a: o.a.name, b: o.b.name };
  const signal = o.signal ?? new AbortController().signal;
  const comparisons: ScenarioComparison[] = [];
  const observations: NonNullable<FidelityResult['observations']> = [];
  let interrupted = false;
  type Done = { c: ScenarioComparison; obs: { a: ScenarioObservation; b: ScenarioObservation } } | 'interrupted';
  const done: Array<Done | undefined> = new Array<Done | undefined>(scenarios.length);
  let delivered = 0;
  // comparisons and onScenario in file order, each as soon as every scenario before it is done
  const deliver = () => {
    while (delivered < scenarios.length && done[delivered] !== undefined) {
      const d = done[delivered++]!;
      if (d === 'interrupted' || interrupted) {
        interrupted = true;
        continue;
      }
      comparisons.push(d.c);
      if (o.keepObservations) observations.push(d.obs);
      o.onScenario?.(d.c, d.obs);
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < scenarios.length) {
      const i = next++;
      const s = scenarios[i];
      if (signal.aborted) {
        done[i] = 'interrupted';
        deliver();
        continue;
      }
      o.progress?.(`${s.name}: on ${names.a}…`);
      const ra = await observeOn(s, o.a, o, signal, 0);
      o.progress?.(`${s.name}: on ${names.b}…`);
      const rb = await observeOn(s, o.b, o, signal, 1);
      done[i] = ra.interrupted || rb.interrupted ? 'interrupted' : { c: compareScenario(ra.obs, rb.obs, names), obs: { a: ra.obs, b: rb.obs } };
      deliver();
    }
  };
  const jobs = Math.max(1, Math.min(o.jobs ?? 1, o.a.maxJobs ?? Infinity, o.b.maxJobs ?? Infinity, scenarios.length || 1));
  await Promise.all(Array.from({ length: jobs }, () => worker()));
  return {
    kind: 'sriov-lab/fidelity',
    backends: names,
    seed: o.seed,
    ...(o.jitterMs ? { jitterMs: o.jitterMs } : {}),
    comparisons,
    totals: totals(comparisons),
    interrupted,
    ...(o.keepObservations ? { observations } : {}),
  };
}

export async function fidelityCommand(args: string[], io: FidelityCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const registry = io.registry ?? defaultRegistry;
  const fail = (msg: string, usage = false): number => {
    stderr.write(`sriov-lab fidelity: ${msg}\n${usage ? FIDELITY_USAGE : ''}`);
    return 2;
  };

  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(args, {
      a: { type: 'string', default: 'sim' },
      b: { type: 'string', default: 'qemu' },
      ...SCENARIO_RUN_OPTIONS,
      json: { type: 'string' },
      keep: { type: 'boolean' },
      jitter: { type: 'string' },
      html: { type: 'string' },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    return fail((e as Error).message, true);
  }
  if (values.help) {
    stdout.write(FIDELITY_USAGE);
    return 0;
  }
  if (values.from !== undefined) {
    if (positionals.length) return fail(`--from ${String(values.from)}: no scenario paths with --from (got ${positionals.join(' ')})`);
    return recompare(String(values.from), values, stdout, fail);
  }
  const parsed = scenarioRunFlags(values);
  if (!parsed.ok) return fail(parsed.message);
  const { seed, devicePlugin, cni, filter } = parsed.flags;
  let jitterMs: number | undefined;
  if (values.jitter !== undefined) {
    jitterMs = Number(values.jitter);
    if (!/^\d+$/.test(String(values.jitter)) || jitterMs > 60_000) return fail(`--jitter: expected a whole number of milliseconds (0..60000), got "${String(values.jitter)}"`);
  }

  let a: Backend;
  let b: Backend;
  try {
    a = registry.get(String(values.a));
    b = registry.get(String(values.b));
  } catch (e) {
    if (e instanceof UnknownBackendError) return fail(e.message);
    throw e;
  }

  const paths = positionals.length ? positionals : ['scenarios'];
  const loaded = loadScenarioPaths(paths, io.cwd ?? process.cwd(), 'fidelity');
  if (!loaded.ok) {
    stderr.write(loaded.message);
    return 2;
  }
  const scenarios = loaded.scenarios.filter((s) => matchesFilter(filter, scenarioInfoOf(s)));
  if (scenarios.length === 0) return fail(`no scenario matches --filter ${filter.join(', ')}`);

  const names: BackendNames = { a: a.name, b: b.name };
  stdout.write(`sriov-lab fidelity: ${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'}, ${names.a} vs ${names.b}, seed ${seed}\n`);
  const interrupt = interruptOnSigint(stderr, io.signal);
  try {
    const result = await fidelity(scenarios, {
      a: a as Backend & BackendRunInfo,
      b: b as Backend & BackendRunInfo,
      seed,
      devicePlugin,
      cni,
      keep: values.keep === true,
      jitterMs,
      keepObservations: values.json !== undefined || values.html !== undefined,
      jobs: values.jobs !== undefined ? parsed.flags.jobs : 1,
      signal: interrupt.signal,
      clock: io.clock,
      command: joinCommandLine(['sriov-lab', 'fidelity', ...args]),
      progress: (line) => stderr.write(`${line}\n`),
      onScenario: (c) => stdout.write(formatScenario(c, names)),
    });
    stdout.write(formatTotals(result.comparisons, names));
    if (result.interrupted) stdout.write('interrupted: the remaining scenarios were not compared\n');
    stdout.write(`reproduce: ${joinCommandLine(['sriov-lab', 'fidelity', ...paths, '--a', names.a, '--b', names.b, '--seed', String(seed), ...(devicePlugin ? ['--device-plugin', joinCommandLine(devicePlugin)] : []), ...(cni ? ['--cni', cni] : []), ...filter.flatMap((f) => ['--filter', f]), ...(jitterMs ? ['--jitter', String(jitterMs)] : [])])}\n`);
    if (values.json) writeFileSync(String(values.json), `${JSON.stringify(result, null, 2)}\n`);
    if (values.html) writeFileSync(String(values.html), renderFidelityHtml(result));
    return result.interrupted || totals(result.comparisons).differences > 0 ? 1 : 0;
  } finally {
    interrupt.dispose();
  }
}

/** `--from FILE`: the recorded observations compared again; prints and writes as a run does */
function recompare(file: string, values: Record<string, unknown>, stdout: { write(s: string): unknown }, fail: (msg: string) => number): number {
  let recorded: FidelityResult;
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as FidelityResult;
  } catch (e) {
    return fail(`--from ${file}: ${(e as Error).message}`);
  }
  if (recorded.kind !== 'sriov-lab/fidelity') return fail(`--from ${file}: not a fidelity result (kind: ${JSON.stringify(recorded.kind)}; expected "sriov-lab/fidelity")`);
  if (!Array.isArray(recorded.observations)) return fail(`--from ${file}: it has no observations (written by a version of fidelity that did not record them)`);
  const names = recorded.backends;
  const comparisons = recorded.observations.map((o) => compareScenario(o.a, o.b, names));
  stdout.write(`sriov-lab fidelity: ${comparisons.length} scenario${comparisons.length === 1 ? '' : 's'}, ${names.a} vs ${names.b}, seed ${recorded.seed}, compared again from ${file}\n`);
  for (const c of comparisons) stdout.write(formatScenario(c, names));
  stdout.write(formatTotals(comparisons, names));
  const result: FidelityResult = { ...recorded, comparisons, totals: totals(comparisons) };
  if (typeof values.json === 'string') writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  if (typeof values.html === 'string') writeFileSync(values.html, renderFidelityHtml(result));
  return recorded.interrupted || result.totals.differences > 0 ? 1 : 0;
}
