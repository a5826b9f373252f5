// The scenario runner: plays scenarios against a Backend and produces the run-result contract (reports/types.ts),
// calling the reporter hooks in their documented order as it goes.
//
// Per scenario: requirement check (skip with the backend's reason) → `up` with the scenario's topology and a seed
// derived from the run seed and the scenario id → steps in order → `down`. Per step: the `try` operations until one
// fails; on failure the step's `catch` and then the scenario's `catch` collectors (attachments); the `finally`
// operations always. A failed step ends the scenario; the remaining steps are reported as skipped.
//
// Interruption (the signal aborts, e.g. Ctrl-C): the running operation stops at its next wait, catch is skipped, the
// step's finally and `down` still run, the scenario fails with InterruptedError, every scenario not yet started is
// reported as skipped, and the run is marked interrupted; reporters still get onRunEnd.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { hostname, arch, cpus, release, totalmem, tmpdir, type as osType } from 'node:os';
import { join } from 'node:path';
import type { Backend, BackendRunInfo, BackendUpOptions, ClusterHandle, PluginCommand } from '../backend.ts';
import type {
  Attachment, KernelInfo, NicInfo, OperationPhase, OperationResult, PluginUnderTest, RunMeta, RunResult, ScenarioResult,
  StepResult, TraceEvent,
} from '../../reports/types.ts';
import { RUN_RESULT_SCHEMA, RUN_RESULT_VERSION, scenarioId } from '../../reports/types.ts';
import type { Reporter, ScenarioInfo } from '../../reports/reporter.ts';
import { getNicModel } from '../../sim/nics/catalog.ts';
import type { Operation, Scenario } from '../scenario/types.ts';
import { realClock, type Clock } from './clock.ts';
import { InterruptedError, ScenarioError, toResultError } from './errors.ts';
import { matchesFilter } from './glob.ts';
import { runOperation, type OpContext } from './operations.ts';
import { scenarioSeed } from './seed.ts';
import { joinCommandLine } from './shell-words.ts';

/** what `RunOptions.afterOperation` is told after each operation that ran (the cluster is still up) */
export interface AfterOperationContext {
  scenario: Scenario;
  /** "<file>#<name>" */
  scenarioId: string;
  stepIndex: number;
  stepName: string;
  phase: OperationPhase;
  /** index of the operation within its phase of the step (catch: the step's catch, then the scenario's) */
  operationIndex: number;
  operation: Operation;
  /** the operation's result as the report will have it */
  result: OperationResult;
  handle: ClusterHandle;
  signal: AbortSignal;
}

export interface RunOptions {
  backend: Backend & BackendRunInfo;
  /** the run seed (uint32) */
  seed: number;
  reporter?: Reporter;
  /** argv of a third-party device plugin; undefined = bundled */
  devicePlugin?: string[];
  /** a third-party CNI binary */
  cni?: string;
  /** a Multus thin-plugin binary, each node's CNI (sim backend) */
  multus?: string;
  /** --topology as given: only for the reproduce commands (the scenarios were loaded with it) */
  topologyFile?: string;
  /** passed to the backend (the host backend's --pf and --force) */
  host?: { pfs: string[]; force?: boolean };
  /** --filter globs (any may match) */
  filter?: string[];
  /** where per-scenario work folders go (default: a fresh folder under the OS temp dir) */
  workDir?: string;
  /** keep the work folders (default: removed after each scenario) */
  keep?: boolean;
  signal?: AbortSignal;
  clock?: Clock;
  /** the command line that started the run, as typed */
  command?: string;
  /** the paths the run was given, for the run's reproduce command */
  paths?: string[];
  toolVersion?: string;
  /** progress lines from slow backend steps */
  progress?: (line: string) => void;
  /**
   * scenarios run at once, each in its own nodes (default 1). Reporter hooks and progress lines still come in file
   * order: the first unfinished scenario's are delivered as they happen, the others' are held and delivered when
   * every scenario before them has ended. Capped by the backend's `maxJobs`.
   */
  jobs?: number;
  /**
   * called after each operation that ran, while the cluster is up (e.g. `sriov-lab fidelity` samples the nodes).
   * Not counted in the operation's duration; an error it throws is logged to the trace and does not fail the run.
   */
  afterOperation?: (ctx: AfterOperationContext) => Promise<void>;
}

const TOOL = 'sriov-lab';

export function scenarioInfoOf(s: Scenario): ScenarioInfo {
  return { id: scenarioId(s.file, s.name), file: s.file, name: s.name, tags: s.tags, resources: s.resources };
}

function pluginFlags(opts: RunOptions): string[] {
  const out: string[] = [];
  if (opts.devicePlugin) out.push('--device-plugin', joinCommandLine(opts.devicePlugin));
  if (opts.cni) out.push('--cni', opts.cni);
  if (opts.multus) out.push('--multus', opts.multus);
  if (opts.topologyFile) out.push('--topology', opts.topologyFile);
  for (const pf of opts.host?.pfs ?? []) out.push('--pf', pf);
  if (opts.host?.force) out.push('--force');
  return out;
}

/** `sriov-lab run <file> --seed N --backend B [--device-plugin …] [--cni …]`: this scenario alone, same seed */
export function reproduceCommand(file: string, opts: Pick<RunOptions, 'seed' | 'backend' | 'devicePlugin' | 'cni' | 'multus' | 'host' | 'topologyFile'> & { filter?: string[] }): string {
  const argv = [TOOL, 'run', file, '--seed', String(opts.seed), '--backend', opts.backend.name, ...pluginFlags(opts as RunOptions)];
  for (const f of opts.filter ?? []) argv.push('--filter', f);
  return joinCommandLine(argv);
}

/** the report's lightweight node names, when the topology has any */
function lightweightOf(s: Scenario): { lightweightNodes?: string[] } {
  const light = s.topology.nodes.filter((n) => n.lightweight).map((n) => n.name);
  return light.length ? { lightweightNodes: light } : {};
}

function nicsOf(scenarios: Scenario[]): NicInfo[] {
  const seen = new Map<string, NicInfo>();
  for (const s of scenarios) {
    for (const node of s.topology.nodes) {
      for (const nic of node.nics) {
        const m = getNicModel(nic.model);
        if (!m || seen.has(m.name)) continue;
        seen.set(m.name, { model: m.description, vendorDevice: `${m.vendor}:${m.pfDevice}`, driver: m.pfDriver, totalVfs: nic.totalVfs, simulated: true });
      }
    }
  }
  return [...seen.values()];
}

function runId(startedAt: Date, seed: number): string {
  return `${startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}-${(seed & 0xffff).toString(16).padStart(4, '0')}`;
}

export async function runScenarios(all: Scenario[], opts: RunOptions): Promise<RunResult> {
  const clock = opts.clock ?? realClock;
  const signal = opts.signal ?? new AbortController().signal;
  const reporter = opts.reporter ?? { name: 'none' };
  const scenarios = all.filter((s) => matchesFilter(opts.filter ?? [], { ...scenarioInfoOf(s) }));
  const runStartWall = clock.now();
  const startedAt = new Date(runStartWall);
  const devicePlugin: PluginCommand = opts.devicePlugin ? { argv: opts.devicePlugin } : {};
  const cni = opts.cni ? { path: opts.cni } : undefined;

  const avail = await opts.backend.available();
  const kernel: KernelInfo = opts.backend.kernelInfo ? await opts.backend.kernelInfo() : { release: release() };
  const plugins: PluginUnderTest[] = opts.backend.pluginsUnderTest
    ? await opts.backend.pluginsUnderTest({ devicePlugin, cni })
    : [
        opts.devicePlugin
          ? { role: 'device-plugin', name: opts.devicePlugin[0].split('/').pop() ?? opts.devicePlugin[0], bundled: false, path: opts.devicePlugin[0] }
          : { role: 'device-plugin', name: 'sriov-network-device-plugin', bundled: true },
        opts.cni ? { role: 'cni', name: opts.cni.split('/').pop() ?? opts.cni, bundled: false, path: opts.cni } : { role: 'cni', name: 'sriov', bundled: true },
      ];
  const paths = opts.paths ?? [...new Set(scenarios.map((s) => s.file))];
  const meta: RunMeta = {
    id: runId(startedAt, opts.seed),
    tool: { name: TOOL, version: opts.toolVersion ?? '0.0.0' },
    backend: opts.backend.name,
    ...(avail.ok ? { backendDetail: avail.detail } : {}),
    plugins,
    seed: opts.seed,
    host: { hostname: hostname(), os: `${osType()} ${release()}`, arch: arch(), cpus: cpus().length, memoryBytes: totalmem(), nodeVersion: process.version },
    kernel,
    nics: nicsOf(scenarios),
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    command: opts.command ?? joinCommandLine([TOOL, 'run', ...paths]),
    reproduceCommand: joinCommandLine([TOOL, 'run', ...paths, '--seed', String(opts.seed), '--backend', opts.backend.name, ...pluginFlags(opts), ...(opts.filter ?? []).flatMap((f) => ['--filter', f])]),
  };
  const plan = scenarios.map(scenarioInfoOf);
  await reporter.onRunBegin?.(meta, plan);

  const baseWork = opts.workDir ?? mkdtempSync(join(tmpdir(), 'sriov-lab-run-'));
  const results: ScenarioResult[] = new Array<ScenarioResult>(scenarios.length);
  let interrupted = false;
  const jobs = Math.max(1, Math.min(opts.jobs ?? 1, opts.backend.maxJobs ?? Infinity, scenarios.length || 1));
  const order = new InOrder(scenarios.length);
  const runAt = async (i: number): Promise<void> => {
    const s = scenarios[i];
    const info = scenarioInfoOf(s);
    const rep = order.reporter(i, reporter);
    if (signal.aborted) {
      interrupted = true;
      await rep.onScenarioBegin(info);
      const r = skipped(s, info, opts, 'not run: the run was interrupted');
      results[i] = r;
      await rep.onScenarioEnd(r);
      return;
    }
    await rep.onScenarioBegin(info);
    const progress = opts.progress && ((line: string) => order.emit(i, () => opts.progress?.(line)));
    const r = await runOne(s, info, { backend: opts.backend, seed: opts.seed, signal, clock, devicePlugin, cni, multus: opts.multus, baseWork, reporter: rep, availability: avail, progress, afterOperation: opts.afterOperation, host: opts.host, topologyFile: opts.topologyFile });
    if (r.error?.name === 'InterruptedError') interrupted = true;
    results[i] = r;
    await rep.onScenarioEnd(r);
  };
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < scenarios.length) {
        const i = next++;
        try {
          await runAt(i);
        } finally {
          order.end(i);
        }
      }
    };
    await Promise.all(Array.from({ length: jobs }, () => worker()));
    await order.drained();
  } finally {
    if (!opts.workDir && !opts.keep) rmSync(baseWork, { recursive: true, force: true });
    else if (opts.keep) opts.progress?.(`kept the work folder: ${baseWork}`);
  }

  meta.durationMs = Math.max(0, clock.now() - runStartWall);
  if (interrupted) meta.interrupted = true;
  const run: RunResult = { schema: RUN_RESULT_SCHEMA, version: RUN_RESULT_VERSION, run: meta, scenarios: results };
  await reporter.onRunEnd?.(run);
  return run;
}

type ScenarioHooks = Required<Pick<Reporter, 'onScenarioBegin' | 'onStepBegin' | 'onStepEnd' | 'onScenarioEnd'>> & Reporter;

/**
 * Delivers the events of scenarios that run at once in scenario order. Every event goes onto one chain, so hooks
 * never overlap; the first scenario that has not ended ("the head") has its events chained as they happen, a later
 * one's are held until every scenario before it has ended, then chained all at once, after which it is the head.
 */
class InOrder {
  private head = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly held: Array<Array<() => unknown>>;
  private readonly ended: boolean[];
  constructor(count: number) {
    this.held = Array.from({ length: count }, () => []);
    this.ended = new Array<boolean>(count).fill(false);
  }
  /** run `fn` in order; the head's caller waits for it (as with a serial run), a held one's does not */
  emit(i: number, fn: () => unknown): Promise<void> {
    if (i !== this.head) {
      this.held[i].push(fn);
      return Promise.resolve();
    }
    return this.push(fn);
  }
  private push(fn: () => unknown): Promise<void> {
    const p = this.chain.then(() => fn()).then(() => undefined);
    // a hook's failure is the reporter's own business (multiplex reports it); it must not stop later events
    this.chain = p.catch(() => undefined);
    return p;
  }
  end(i: number): void {
    this.ended[i] = true;
    while (this.head < this.ended.length && this.ended[this.head]) {
      this.head++;
      if (this.head < this.held.length) {
        for (const fn of this.held[this.head].splice(0)) void this.push(fn);
      }
    }
  }
  drained(): Promise<void> {
    return this.chain;
  }
  reporter(i: number, r: Reporter): ScenarioHooks {
    return {
      name: r.name,
      onScenarioBegin: (info) => this.emit(i, () => r.onScenarioBegin?.(info)),
      onStepBegin: (info, step) => this.emit(i, () => r.onStepBegin?.(info, step)),
      onStepEnd: (info, step) => this.emit(i, () => r.onStepEnd?.(info, step)),
      onScenarioEnd: (res) => this.emit(i, () => r.onScenarioEnd?.(res)),
    };
  }
}

function skipped(s: Scenario, info: ScenarioInfo, opts: RunOptions, reason: string): ScenarioResult {
  return {
    id: info.id,
    file: s.file,
    name: s.name,
    ...(s.description ? { description: s.description } : {}),
    ...(s.location ? { location: s.location } : {}),
    tags: s.tags,
    resources: s.resources,
    nodes: s.topology.nodes.map((n) => n.name),
    ...lightweightOf(s),
    status: 'skipped',
    durationMs: 0,
    skipReason: reason,
    steps: [],
    trace: [],
    attachments: [],
    reproduceCommand: reproduceCommand(s.file, opts),
  };
}

interface OneOptions {
  backend: RunOptions['backend'];
  seed: number;
  signal: AbortSignal;
  clock: Clock;
  devicePlugin: PluginCommand;
  cni?: { path: string };
  multus?: string;
  baseWork: string;
  reporter: Reporter;
  availability: Awaited<ReturnType<Backend['available']>>;
  progress?: (line: string) => void;
  afterOperation?: RunOptions['afterOperation'];
  host?: RunOptions['host'];
  topologyFile?: string;
}

async function runOne(
  s: Scenario,
  info: ScenarioInfo,
  o: OneOptions,
): Promise<ScenarioResult> {
  const flagOpts: RunOptions = { seed: o.seed, backend: o.backend, devicePlugin: o.devicePlugin.argv, cni: o.cni?.path, multus: o.multus, host: o.host, topologyFile: o.topologyFile };
  if (!o.availability.ok) return skipped(s, info, flagOpts, `backend ${o.backend.name} is not available here: ${o.availability.reason}`);
  const missing: string[] = [];
  for (const req of s.requires) {
    const p = o.backend.provides(req);
    if (!p.ok) missing.push(p.reason);
  }
  if (missing.length) return skipped(s, info, flagOpts, missing.join('; '));

  const clock = o.clock;
  const startWall = clock.now();
  const trace: TraceEvent[] = [];
  const attachments: Attachment[] = [];
  const rel = (wallMs: number) => Math.max(0, wallMs - startWall);
  const log = (level: 'info' | 'error', message: string) => trace.push({ kind: 'log', atMs: rel(clock.now()), source: 'harness', level, message });
  const result: ScenarioResult = {
    id: info.id,
    file: s.file,
    name: s.name,
    ...(s.description ? { description: s.description } : {}),
    ...(s.location ? { location: s.location } : {}),
    tags: s.tags,
    resources: s.resources,
    nodes: s.topology.nodes.map((n) => n.name),
    ...lightweightOf(s),
    status: 'passed',
    startedAt: new Date(startWall).toISOString(),
    durationMs: 0,
    steps: [],
    trace,
    attachments,
    reproduceCommand: reproduceCommand(s.file, flagOpts),
  };
  const seed = scenarioSeed(o.seed, info.id);
  const workDir = join(o.baseWork, info.id.replace(/[^A-Za-z0-9._-]+/g, '_'));
  mkdirSync(workDir, { recursive: true });

  let cluster: ClusterHandle | undefined;
  const upOpts: BackendUpOptions = {
    topology: s.topology,
    seed,
    devicePlugin: { ...o.devicePlugin, ...(s.devicePlugin.config !== undefined ? { config: s.devicePlugin.config } : {}) },
    ...(o.cni ? { cni: o.cni } : {}),
    ...(o.multus ? { multus: o.multus } : {}),
    ...(o.host ? { host: o.host } : {}),
    workDir,
    // the backend stamps wall-clock ms; the contract wants ms since the scenario started
    trace: (e) => trace.push({ ...e, atMs: rel(e.atMs) }),
    ...(o.progress ? { progress: o.progress } : {}),
    signal: o.signal,
  };
  try {
    log('info', `up: ${s.topology.nodes.length} node(s), seed ${seed}`);
    cluster = await o.backend.up(upOpts);
  } catch (e) {
    result.status = 'failed';
    result.error = o.signal.aborted
      ? // Ctrl-C while the backend started (a VM booting): the backend stopped what it had started
        toResultError(new InterruptedError(`up of scenario ${s.name}: ${toResultError(e).message}`), s.location)
      : { ...toResultError(e, s.location), message: `backend ${o.backend.name} could not start the cluster: ${toResultError(e).message}` };
  }

  if (cluster) {
    const env: Record<string, string> = {
      SRIOV_LAB_SCENARIO: s.name,
      SRIOV_LAB_SCENARIO_FILE: s.file,
      SRIOV_LAB_SCENARIO_ID: info.id,
      SRIOV_LAB_SEED: String(seed),
      SRIOV_LAB_RUN_SEED: String(o.seed),
      SRIOV_LAB_BACKEND: o.backend.name,
      SRIOV_LAB_WORKDIR: workDir,
      SRIOV_LAB_NODES: s.topology.nodes.map((n) => n.name).join(' '),
    };
    let failed = false;
    for (const [index, step] of s.steps.entries()) {
      const stepInfo = { name: step.name, index };
      await o.reporter.onStepBegin?.(info, stepInfo);
      let sr: StepResult;
      if (failed || o.signal.aborted) {
        sr = { name: step.name, ...(step.location ? { location: step.location } : {}), status: 'skipped', startMs: rel(clock.now()), durationMs: 0, operations: [] };
      } else {
        const hook = o.afterOperation;
        const after: AfterOp | undefined = hook
          ? (phase, operationIndex, operation, result, handle) =>
              hook({ scenario: s, scenarioId: info.id, stepIndex: index, stepName: step.name, phase, operationIndex, operation, result, handle, signal: o.signal })
          : undefined;
        sr = await runStep(step, { scenario: s, env: { ...env, SRIOV_LAB_STEP: step.name }, cluster, clock, signal: o.signal, rel, log, attachments, after });
        if (sr.status === 'failed') failed = true;
      }
      result.steps.push(sr);
      await o.reporter.onStepEnd?.(info, { ...sr, index });
    }
    if (failed) result.status = 'failed';
    try {
      log('info', 'down');
      await cluster.down();
    } catch (e) {
      // cleanup never hides the first error; a failing down is reported only when nothing else failed
      process.stderr.write(`sriov-lab: ${s.name}: down failed: ${(e as Error).message}\n`);
      if (result.status !== 'failed') {
        result.status = 'failed';
        result.error = { ...toResultError(e), message: `down failed: ${(e as Error).message}` };
      }
    }
    // a scenario counts as interrupted only when the interruption cut something short (not during its down)
    const cut = result.steps.some((st) => st.status === 'skipped' || st.operations.some((op) => op.error?.name === 'InterruptedError'));
    if (o.signal.aborted && cut && !result.error) {
      result.status = 'failed';
      result.error = toResultError(new InterruptedError(`scenario ${s.name}`), s.location);
    }
  }
  result.durationMs = rel(clock.now());
  trace.sort((a, b) => a.atMs - b.atMs);
  return result;
}

type AfterOp = (phase: OperationPhase, operationIndex: number, operation: Operation, result: OperationResult, handle: ClusterHandle) => Promise<void>;

/** What one step runs with: the scenario's cluster, clock and environment, and where its results go. */
interface StepContext {
  scenario: Scenario;
  env: Record<string, string>;
  cluster: ClusterHandle;
  clock: Clock;
  signal: AbortSignal;
  /** wall-clock ms → ms since the scenario started */
  rel: (wall: number) => number;
  log: (level: 'info' | 'error', message: string) => void;
  /** the scenario's attachments, which the step's collectors add to */
  attachments: Attachment[];
  after?: AfterOp;
}

async function runStep(step: Scenario['steps'][number], c: StepContext): Promise<StepResult> {
  const { scenario: s, env, cluster, clock, signal, rel, log, attachments, after } = c;
  const stepStart = clock.now();
  const sr: StepResult = { name: step.name, ...(step.location ? { location: step.location } : {}), status: 'passed', startMs: rel(stepStart), durationMs: 0, operations: [] };
  const run = async (phase: 'try' | 'catch' | 'finally', op: Operation, index: number): Promise<boolean> => {
    const opStart = clock.now();
    const ctx: OpContext = { cluster, scenario: s, step: step.name, phase, clock, signal, env };
    log('info', `${step.name} › ${phase === 'try' ? '' : `${phase}: `}${op.title}`);
    const or: OperationResult = { kind: op.kind, title: op.title, phase, ...(op.location ? { location: op.location } : {}), status: 'passed', startMs: rel(opStart), durationMs: 0 };
    let ok = true;
    try {
      const outcome = await runOperation(ctx, op);
      attachments.push(...outcome.attachments);
    } catch (e) {
      ok = false;
      or.status = 'failed';
      or.error = toResultError(e, op.location);
      const where = new ScenarioError({ location: op.location, step: step.name, operation: op.title, cause: e });
      log('error', where.message);
    }
    or.durationMs = Math.max(0, clock.now() - opStart);
    sr.operations.push(or);
    if (after) {
      try {
        await after(phase, index, op, or, cluster);
      } catch (e) {
        log('error', `afterOperation hook failed after "${op.title}": ${(e as Error).message}`);
      }
    }
    return ok;
  };

  for (const [i, op] of step.try.entries()) {
    if (signal.aborted) {
      sr.operations.push({ kind: op.kind, title: op.title, phase: 'try', ...(op.location ? { location: op.location } : {}), status: 'failed', startMs: rel(clock.now()), durationMs: 0, error: toResultError(new InterruptedError(op.title), op.location) });
      sr.status = 'failed';
      break;
    }
    if (!(await run('try', op, i))) {
      sr.status = 'failed';
      break;
    }
  }
  // collectors run on failure, but not when the user asked to stop
  if (sr.status === 'failed' && !signal.aborted) {
    for (const [i, op] of [...step.catch, ...s.catch].entries()) await run('catch', op, i);
  }
  for (const [i, op] of step.finally.entries()) {
    if (!(await run('finally', op, i))) sr.status = 'failed';
  }
  sr.durationMs = Math.max(0, clock.now() - stepStart);
  return sr;
}
