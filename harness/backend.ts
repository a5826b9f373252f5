// The seam between the scenario runner and a backend (sim, qemu, host, kind). The runner only ever talks to a
// `ClusterHandle`; each backend makes one from a topology. Trace events use the run-result contract's types.
import type { Topology } from '../sim/topology/topology.ts';
import type { Attachment, BackendName, JsonValue, KernelInfo, PluginUnderTest, TraceEvent } from '../reports/types.ts';
import type { DevicePluginAction } from './scenario/types.ts';

/** A Kubernetes-shaped object as a scenario writes it (apiVersion, kind, metadata, spec, …). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: JsonValue | undefined };
  [key: string]: JsonValue | undefined | KubeObject['metadata'];
}

export interface ObjectRef {
  kind: string;
  name: string;
  /** default "default" for namespaced kinds */
  namespace?: string;
}

/** What a scenario may require; a backend that cannot provide one skips the scenario with the reason. */
export type Requirement =
  | { kind: 'root' }
  | { kind: 'fuse' }
  | { kind: 'vfio' }
  | { kind: 'vfNetlink' }
  | { kind: 'nodes'; count: number }
  | { kind: 'cniPlugins' }
  | { kind: 'command'; name: string }
  /** inferred from the topology: the most VFs one of its PFs starts with */
  | { kind: 'vfsPerPf'; count: number }
  /** inferred from the scenario's `fault` operations: the backend must be able to inject this fault */
  | { kind: 'fault'; fault: Fault['kind'] };

export interface PluginCommand {
  /** argv run inside each node, unmodified; undefined = the bundled plugin */
  argv?: string[];
}

export interface BackendUpOptions {
  topology: Topology;
  seed: number;
  /** the device plugin under test (bundled by default) and its config.json content, if the scenario gives one */
  devicePlugin: PluginCommand & { config?: JsonValue };
  /** a CNI binary to install under its type names instead of the bundled one */
  cni?: { path: string; types?: string[] };
  /**
   * a Multus thin-plugin binary (`--multus PATH`): each node's CNI, in place of the emulated attach; it reads pods and
   * NADs through the cluster's API and writes network-status itself (sim backend only)
   */
  multus?: string;
  workDir: string;
  /** the host backend: the PFs it may touch (`--pf NAME|PCI`, in the order of the topology's NICs), and `--force`
   * past its guard rails */
  host?: { pfs: string[]; force?: boolean };
  /** every trace event of the cluster goes here, stamped with wall-clock ms (the runner rebases to the scenario) */
  trace: (e: TraceEvent) => void;
  /** progress lines for slow steps */
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export type SysfsResult = { ok: true; value?: string } | { ok: false; errno: string; message: string };

/** the VF attributes `ip link set PF vf N …` sets, as the kernel model names them */
export const vfAttrNames = ['mac', 'vlan', 'qos', 'vlanProto', 'spoofchk', 'trust', 'linkState', 'minTxRate', 'maxTxRate'] as const;
export type VfAttrName = (typeof vfAttrNames)[number];

export type Fault =
  | { kind: 'sysfsFailWrites'; path: string; errno: string; count?: number }
  | { kind: 'sysfsDelay'; path: string; delayMs: number; count?: number }
  | { kind: 'vfLink'; pf: string; vf?: number; up: boolean }
  | { kind: 'pfLink'; pf: string; up: boolean }
  | { kind: 'vfUnplug'; pciAddr: string }
  | { kind: 'vfAttrFail'; pf: string; attr: VfAttrName; errno: string; count?: number }
  | { kind: 'ipamFail'; count?: number; message?: string }
  /** the pod's sandbox network namespace is removed under it (its netdevs return to the node) */
  | { kind: 'netnsRemove'; pod: string; namespace?: string }
  /** the node's CNI plugins directory goes away (up: false) or comes back: every CNI call fails meanwhile */
  | { kind: 'cniPath'; up: boolean };

export interface ClusterHandle extends AsyncDisposable {
  readonly backend: BackendName;
  readonly nodes: readonly string[];
  /** create or update objects (Pods, NetworkAttachmentDefinitions, ConfigMaps); validation errors throw */
  apply(objects: KubeObject[]): Promise<void>;
  /**
   * delete an object; a pod gracefully (deletionTimestamp, containers stopped, devices freed, sandbox torn down,
   * gone). `wait: false` returns once the deletion is requested; otherwise it waits up to waitMs for the object to go
   */
  delete(ref: ObjectRef, opts?: { waitMs?: number; wait?: boolean }): Promise<void>;
  /** the current object (with status), or undefined */
  get(ref: ObjectRef): KubeObject | undefined;
  list(kind: string, namespace?: string): KubeObject[];
  /** events involving an object, in order */
  events(ref?: ObjectRef): KubeObject[];
  /** run a command in a pod's network namespace or on a node */
  exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  sysfsRead(node: string, path: string): Promise<SysfsResult>;
  sysfsWrite(node: string, path: string, value: string): Promise<SysfsResult>;
  kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void>;
  devicePlugin(node: string, action: DevicePluginAction): Promise<void>;
  nodeReboot(node: string): Promise<void>;
  fault(node: string, fault: Fault): Promise<void>;
  /** advance the kubelets' clocks (grace periods) without waiting */
  advanceClock(ms: number): Promise<void>;
  /** let queued work settle (scheduling, admission, attach) before an assertion samples state */
  settle(): Promise<void>;
  /**
   * resolves at the next change of anything get/list/events answer from, after the call (asserts wait on it instead
   * of polling); a handle without it is polled every `intervalMs`
   */
  nextChange?(): Promise<void>;
  /** logs, events, sysfs dump, checkpoint, pod-resources of a node, for catch collectors */
  collect(node: string, what: Array<'logs' | 'events' | 'sysfs' | 'checkpoint' | 'podResources'>): Promise<Attachment[]>;
  down(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** the same backend with the run's backend flags (`--kubeconfig`; kind: `--reuse`, `--keep`); absent: it takes none */
  withOptions?(o: { kubeconfig?: string; reuse?: string; keep?: boolean }): Backend & BackendRunInfo;
  /** can this backend run here at all (and if not, why)? */
  available(): Promise<{ ok: true; detail: string } | { ok: false; reason: string }>;
  /** can it provide this requirement? */
  provides(req: Requirement): { ok: true } | { ok: false; reason: string };
  up(opts: BackendUpOptions): Promise<ClusterHandle>;
  /** how many clusters it can hold up at once (`run --jobs`); default: no limit beyond the run's */
  readonly maxJobs?: number;
}

/** What the runner asks of a backend beyond Backend, for the report; every member optional, looked up at run time. */
export interface BackendRunInfo {
  /** the kernel the plugins talk to (the guest's for qemu); default: this host's */
  kernelInfo?(): Promise<KernelInfo> | KernelInfo;
  /** the plugins that will run (name, version, sha256, path) for the given options */
  pluginsUnderTest?(opts: { devicePlugin: PluginCommand; cni?: { path: string } }): Promise<PluginUnderTest[]> | PluginUnderTest[];
}
