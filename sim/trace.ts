// The trace contract: the typed events of one scenario, in time order, as the simulator and the backends produce
// them and the run result (reports/types.ts re-exports them) carries them. No dependencies, so that sim/ can use it.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A value as JSON would carry it: what a decoded protobuf message or any other object becomes in the trace (Buffers
 * as base64, bigints as strings, undefined members dropped, cycles cut).
 */
export function toJsonValue(v: unknown, seen = new Set<object>()): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v !== 'object') return String(v);
  if (seen.has(v)) return '[cycle]';
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => toJsonValue(x, seen));
    const maybe = v as { toJSON?: () => unknown };
    if (typeof maybe.toJSON === 'function') return toJsonValue(maybe.toJSON(), seen);
    const out: { [key: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x, seen);
    return out;
  } finally {
    seen.delete(v);
  }
}

export interface TraceBase {
  /** ms since the scenario started */
  atMs: number;
  /** node the event happened on, when it belongs to one */
  node?: string;
}

/** who serves the call: "to-plugin" = kubelet calls the device plugin; "to-kubelet" = plugin or Multus calls kubelet */
export type GrpcDirection = 'to-plugin' | 'to-kubelet';

export interface GrpcEvent extends TraceBase {
  kind: 'grpc';
  direction: GrpcDirection;
  /** full method path, e.g. "/v1beta1.DevicePlugin/Allocate" */
  method: string;
  /** socket path the call went over */
  socket?: string;
  /** decoded request message (proto field names kept as declared) */
  request?: JsonValue;
  /** decoded response; for a server stream, one event per message with `stream: "message"` */
  response?: JsonValue;
  stream?: 'message' | 'end';
  /** gRPC status when not OK */
  status?: { code: number; name: string; details: string };
  durationMs?: number;
}

export type SysfsOp = 'read' | 'write' | 'readlink' | 'readdir' | 'fault' | 'vf' | 'hotplug' | 'link';

export interface SysfsEvent extends TraceBase {
  kind: 'sysfs';
  op: SysfsOp;
  path: string;
  value?: string;
  /** errno name on failure ("EBUSY"), absent on success */
  errno?: string;
  /** the process that made the call, e.g. "device-plugin", "cni", "harness" */
  actor?: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

export interface CniEvent extends TraceBase {
  kind: 'cni';
  command: CniCommand;
  /** executable that ran */
  plugin: string;
  /** the CNI_* variables (and any others the harness set) */
  env: { [name: string]: string };
  stdin: string;
  stdout: string;
  stderr?: string;
  exitCode: number;
  durationMs: number;
  /** "<namespace>/<name>" */
  pod?: string;
}

export interface SchedulerEvent extends TraceBase {
  kind: 'scheduler';
  /** "<namespace>/<name>" */
  pod: string;
  result: 'bound' | 'unschedulable';
  /** the node bound to */
  nodeName?: string;
  /** kube-scheduler's message, e.g. "0/2 nodes are available: 2 Insufficient intel.com/sriov_net_a." */
  message?: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodPhaseEvent extends TraceBase {
  kind: 'pod';
  pod: string;
  from?: PodPhase;
  to: PodPhase;
  reason?: string;
  message?: string;
}

export interface FaultEvent extends TraceBase {
  kind: 'fault';
  /** e.g. "kill-device-plugin", "sysfs-fail-writes", "kubelet-restart" */
  fault: string;
  action: 'inject' | 'clear';
  target?: string;
  detail?: string;
}

/** capacity/allocatable/allocated of one extended resource on one node, sampled whenever one of them changes */
export interface ResourceSample extends TraceBase {
  kind: 'resource';
  node: string;
  resource: string;
  capacity: number;
  allocatable: number;
  allocated: number;
}

export interface LogEvent extends TraceBase {
  kind: 'log';
  /** "device-plugin", "kubelet", "cni", "harness", … */
  source: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export type TraceEvent =
  | GrpcEvent
  | SysfsEvent
  | CniEvent
  | SchedulerEvent
  | PodPhaseEvent
  | FaultEvent
  | ResourceSample
  | LogEvent;

export type TraceKind = TraceEvent['kind'];

export const TRACE_KINDS: readonly TraceKind[] = ['grpc', 'sysfs', 'cni', 'scheduler', 'pod', 'fault', 'resource', 'log'];

