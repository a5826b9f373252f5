// The run-result contract: the one data shape every reporter reads (JSON, JUnit, terminal, Markdown, HTML) and the
// scenario runner writes. Plain JSON-serialisable interfaces only — a saved run is re-rendered by `sriov-lab report`,
// and the HTML viewer reads the same shape back from the page.
//
// Versioning: `version` is bumped on any change a reader cannot ignore (a field removed, renamed or retyped, a new
// required field). New optional fields and new union members of `TraceEvent['kind']` do not bump it; readers must
// ignore trace events of a kind they do not know.
//
// Times: `startedAt` fields are ISO-8601 UTC strings; every `atMs`/`startMs` is milliseconds since the start of the
// enclosing scenario (so a scenario's trace reads on its own); every `durationMs` is a non-negative number of ms.

export const RUN_RESULT_SCHEMA = 'sriov-lab/run-result';
export const RUN_RESULT_VERSION = 1;


export interface RunResult {
  schema: typeof RUN_RESULT_SCHEMA;
  version: typeof RUN_RESULT_VERSION;
  run: RunMeta;
  /** in the order the runner ran them; reporters reorder (failures first) themselves */
  scenarios: ScenarioResult[];
}

export type BackendName = 'sim' | 'qemu' | 'host' | 'cluster' | 'kind';

export interface RunMeta {
  /** unique per run, e.g. "2026-11-28T10-00-00Z-4f2a" */
  id: string;
  tool: { name: 'sriov-lab'; version: string };
  backend: BackendName;
  /** e.g. "QEMU 10.0.2, TCG" or "FUSE sysfs, model-only off" */
  backendDetail?: string;
  plugins: PluginUnderTest[];
  /** every random choice of the run derives from it (device picking, jitter, faults); uint32 */
  seed: number;
  host: HostInfo;
  kernel: KernelInfo;
  nics: NicInfo[];
  startedAt: string;
  durationMs: number;
  /** the command line that started the run, as typed */
  command: string;
  /** one line that re-runs the whole run with the same seed and backend */
  reproduceCommand: string;
  /** true when the run was stopped (signal, --max-failures) before every scenario ran */
  interrupted?: boolean;
  ci?: CiInfo;
}

export type PluginRole = 'device-plugin' | 'cni' | 'ipam' | 'other';

export interface PluginUnderTest {
  role: PluginRole;
  /** e.g. "sriov-network-device-plugin", "host-device" */
  name: string;
  /** true for the plugins shipped in plugins/, false for third-party binaries run unmodified */
  bundled: boolean;
  version?: string;
  /** sha256 of the executable that ran, hex */
  sha256?: string;
  path?: string;
}

export interface HostInfo {
  hostname: string;
  os: string;
  arch: string;
  cpus?: number;
  memoryBytes?: number;
  /** process.version of the harness */
  nodeVersion?: string;
}

export interface KernelInfo {
  /** `uname -r` of the kernel the plugins talk to (the guest's for qemu) */
  release: string;
  version?: string;
}

export interface NicInfo {
  /** e.g. "Intel 82576" */
  model: string;
  /** "8086:10c9" */
  vendorDevice: string;
  pciAddr?: string;
  driver?: string;
  totalVfs?: number;
  /** simulated node the NIC sits on */
  node?: string;
  /** true when simulated (sim backend), false for a real or emulated-by-QEMU device */
  simulated?: boolean;
}

export interface CiInfo {
  provider: string;
  url?: string;
  commit?: string;
  ref?: string;
}

export type Status = 'passed' | 'failed' | 'skipped';

export interface SourceLocation {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

export interface ScenarioResult {
  /** stable within a run and across runs of the same file: "<file>#<name>"; used in report URLs */
  id: string;
  /** path of the scenario file relative to the working directory of the run */
  file: string;
  name: string;
  description?: string;
  /** where the scenario starts in its file */
  location?: SourceLocation;
  tags: string[];
  /** extended resources the scenario uses, e.g. "intel.com/sriov_net_a" */
  resources: string[];
  /** node names of the topology */
  nodes?: string[];
  /** the names of `nodes` that are lightweight (no network namespace, no CNI: the model, device manager and plugin view only) */
  lightweightNodes?: string[];
  status: Status;
  startedAt?: string;
  durationMs: number;
  /** why the scenario did not run (e.g. the backend lacks a declared requirement); set iff status is skipped */
  skipReason?: string;
  /** a failure outside every step (setup, teardown, a crash of the runner itself) */
  error?: ResultError;
  steps: StepResult[];
  trace: TraceEvent[];
  attachments: Attachment[];
  /** one line that re-runs only this scenario with the run's seed and backend */
  reproduceCommand: string;
}

export interface StepResult {
  name: string;
  location?: SourceLocation;
  status: Status;
  startMs: number;
  durationMs: number;
  operations: OperationResult[];
  /** a failure of the step itself, not of one operation (e.g. its timeout) */
  error?: ResultError;
}

/** the part of a step an operation belongs to (chainsaw's try/catch/finally) */
export type OperationPhase = 'try' | 'catch' | 'finally';

export interface OperationResult {
  /** the operation keyword of the scenario language, e.g. "apply", "assert", "error", "sysfs", "fault", "wait" */
  kind: string;
  /** a one-line human title, e.g. "assert pod/a is Running" */
  title: string;
  phase?: OperationPhase;
  location?: SourceLocation;
  status: Status;
  startMs: number;
  durationMs: number;
  error?: ResultError;
}

export interface ResultError {
  /** the error class, e.g. "AssertionError", "WaitTimeoutError", "ExecError" */
  name: string;
  /** one line */
  message: string;
  /** the expected value as the scenario author wrote it (YAML or plain text) */
  expected?: string;
  /** the observed value, rendered the same way */
  actual?: string;
  /** unified diff expected → actual ("-" expected, "+" actual); reporters compute one when absent */
  diff?: string;
  location?: SourceLocation;
  stack?: string;
  /** the error's own fields (errno, path, timeoutMs, …) */
  fields?: { [key: string]: JsonValue };
}

// ---------------------------------------------------------------------------------------------------------------
// The trace: typed events of one scenario, in time order. Defined in sim/trace.ts, where the simulator produces them
// (sim/ depends on nothing of ours), and part of this contract.
export type {
  CniCommand,
  CniEvent,
  FaultEvent,
  GrpcDirection,
  GrpcEvent,
  LogEvent,
  PodPhase,
  PodPhaseEvent,
  ResourceSample,
  SchedulerEvent,
  SysfsEvent,
  SysfsOp,
  TraceEvent,
  TraceKind,
} from '../sim/trace.ts';
export { TRACE_KINDS } from '../sim/trace.ts';
import type { JsonValue, TraceEvent } from '../sim/trace.ts';
export type { JsonValue };

export interface Attachment {
  /** e.g. "device-plugin.log", "sysfs-dump.txt", "checkpoint.json" */
  name: string;
  contentType: string;
  encoding: 'text' | 'base64';
  body: string;
  /** step the attachment was collected in (a catch collector), if any */
  step?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Small derived views every reporter needs.

export interface RunTotals {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  /** failed when any scenario failed or the run was interrupted */
  status: 'passed' | 'failed';
}

export function runTotals(run: RunResult): RunTotals {
  const t: RunTotals = { total: 0, passed: 0, failed: 0, skipped: 0, durationMs: run.run.durationMs, status: 'passed' };
  for (const s of run.scenarios) {
    t.total++;
    t[s.status]++;
  }
  if (t.failed > 0 || run.run.interrupted) t.status = 'failed';
  return t;
}

const STATUS_RANK: Record<Status, number> = { failed: 0, skipped: 1, passed: 2 };

/** failed first, then skipped, then passed; the run order is kept within each group */
export function failuresFirst<T extends { status: Status }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => STATUS_RANK[a.item.status] - STATUS_RANK[b.item.status] || a.i - b.i)
    .map((x) => x.item);
}

/** the first error of a failed scenario: its own, else the first failed step's, else that step's first failed operation's */
export function firstError(s: ScenarioResult): { error: ResultError; step?: StepResult; operation?: OperationResult } | undefined {
  for (const step of s.steps) {
    if (step.status !== 'failed') continue;
    const op = step.operations.find((o) => o.status === 'failed' && o.error);
    if (op?.error) return { error: op.error, step, operation: op };
    if (step.error) return { error: step.error, step };
  }
  if (s.error) return { error: s.error };
  return undefined;
}

export function scenarioId(file: string, name: string): string {
  return `${file}#${name}`;
}
