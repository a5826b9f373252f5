// What `sriov-lab fidelity` observes, through the Backend/ClusterHandle seam only:
//  - after every operation (runner hook `afterOperation`), per node of the scenario: one `exec` of NODE_SCRIPT
//    (SR-IOV PFs and VFs in sysfs, hardware netdevs, VF settings as `ip link` shows them) plus the Node object's
//    extended resources; and what the operation itself got back from the cluster (sysfs reads, errno of sysfs writes,
//    exit codes), recorded by a ClusterHandle wrapper;
//  - after the scenario, from its trace: Allocate calls, the devices each ListAndWatch stream advertised, CNI calls.
// Every observation is a flat `what → value` map of normalised strings (normalise.ts), so comparing is a map diff.
export type { Observed, OperationObservation, ScenarioObservation, StateSequence, TraceObservation } from '../../reports/fidelity-types.ts';
import type { Backend, ClusterHandle, ExecResult, Fault, KubeObject, ObjectRef, SysfsResult } from '../backend.ts';
import type { CniEvent, GrpcEvent, JsonValue, OperationResult, ScenarioResult, TraceEvent } from '../../reports/types.ts';
import type { AfterOperationContext } from '../runner/runner.ts';
import type { BackendRunInfo } from '../backend.ts';
import type { Observed, OperationObservation, ScenarioObservation, StateSequence, TraceObservation } from '../../reports/fidelity-types.ts';
import { asIs, flattenJson, MAC_OWNER_RANK, Normaliser, type TextNormaliser } from './normalise.ts';
import { mulberry32 } from '../../sim/prng.ts';
import type { DevicePluginAction } from '../scenario/types.ts';






// ---------------------------------------------------------------------------------------------------------------
// Per node: one exec. POSIX sh, busybox-compatible (the qemu guest), output "what<TAB>value" lines, plus "@ipvf PF"
// markers followed by what the PF's `ip link show` printed besides its header and link lines (the VF lines, or a warning). The vfio group number is never printed: only whether
// /dev/vfio/<group> exists.

// (`\${` in the text below is the shell's `${`; String.raw keeps backslashes, the replace drops them)
export const NODE_SCRIPT = String.raw`
b() { l=$(readlink "$1" 2>/dev/null) && echo "\${l##*/}" || echo -; }
kv() { printf '%s\t%s\n' "$1" "$2"; }
nets() { ls "$1/net" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
if cd /sys/bus/pci/devices 2>/dev/null; then
  for a in *; do
    [ -r "$a/sriov_totalvfs" ] || continue
    p="pf $a"
    kv "$p vendor" "$(cat $a/vendor)"; kv "$p device" "$(cat $a/device)"; kv "$p driver" "$(b $a/driver)"
    kv "$p sriov_totalvfs" "$(cat $a/sriov_totalvfs)"; kv "$p sriov_numvfs" "$(cat $a/sriov_numvfs)"
    kv "$p net" "$(nets $a)"
    for v in $a/virtfn*; do
      [ -L "$v" ] || continue
      q="vf $a/\${v##*virtfn}"; va=$(b $v); d=$(b $va/driver)
      kv "$q pciAddr" "$va"; kv "$q vendor" "$(cat $va/vendor 2>/dev/null)"; kv "$q device" "$(cat $va/device 2>/dev/null)"
      kv "$q driver" "$d"; kv "$q net" "$(nets $va)"
      if [ "$d" = vfio-pci ]; then
        g=$(b $va/iommu_group); if [ -e "/dev/vfio/$g" ]; then kv "$q /dev/vfio/<group>" present; else kv "$q /dev/vfio/<group>" absent; fi
      fi
    done
    for nd in $(ls $a/net 2>/dev/null); do echo "@ipvf $a"; ip link show dev "$nd" 2>&1 | grep -v '^[0-9]*:\|^    link/\|^    altname'; done
  done
fi
for n in /sys/class/net/*; do
  [ -e "$n/device" ] || continue
  # the qemu backend's management NIC (the node agent's line to the host) is the harness's, not the topology's
  [ "\${n##*/}" = mgmt0 ] && continue
  x=$(readlink -f "$n/device"); y=\${x##*/}
  case "$y" in virtio*) x=\${x%/*}; y=\${x##*/};; esac
  kv "net \${n##*/} device" "$y"; kv "net \${n##*/} operstate" "$(cat $n/operstate 2>/dev/null)"
done
true
`.replaceAll('\\${', '${');

/** `vf 0 link/ether aa:… brd ff:…, vlan 100, qos 2, spoof checking on, link-state auto, trust off` → fields */
export function parseIpVfLine(line: string): { vf: string; fields: Array<[string, string]> } | undefined {
  const m = /^\s*vf\s+(\d+)\s+(.*)$/.exec(line);
  if (!m) return undefined;
  const fields: Array<[string, string]> = [];
  for (const part of m[2].split(/,\s*/)) {
    const p = part.trim();
    if (!p) continue;
    const ether = /^link\/ether\s+(\S+)/.exec(p);
    if (ether) {
      fields.push(['mac', ether[1]]);
      continue;
    }
    const mac = /^MAC\s+(\S+)/.exec(p);
    if (mac) {
      fields.push(['mac', mac[1]]);
      continue;
    }
    const words = p.split(/\s+/);
    if (words.length === 1) fields.push([words[0], 'yes']);
    else fields.push([words.slice(0, -1).join(' '), words[words.length - 1]]);
  }
  return { vf: m[1], fields };
}

/** NODE_SCRIPT's output as `<node> …` keys, values normalised */
export function parseNodeDump(node: string, stdout: string, n: TextNormaliser): Observed {
  const out: Observed = {};
  let ipPf: string | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    if (line.startsWith('@ipvf ')) {
      ipPf = line.slice(6).trim();
      continue;
    }
    const tab = line.indexOf('\t');
    if (tab >= 0 && !/^\s/.test(line)) {
      out[`${node} ${line.slice(0, tab)}`] = n.text(line.slice(tab + 1).trim());
      continue;
    }
    const vf = parseIpVfLine(line);
    if (vf && ipPf) {
      for (const [k, v] of vf.fields) out[`${node} vf ${ipPf}/${vf.vf} ip ${k}`] = n.text(v);
    } else if (ipPf && line.trim()) {
      // what `ip link show` said besides its VF lines (a warning, an error): shown, so a missing VF list has a reason
      const k = `${node} pf ${ipPf} ip says`;
      out[k] = out[k] ? `${out[k]} | ${n.text(line.trim())}` : n.text(line.trim());
    }
  }
  return out;
}

/** extended resources (names with a "/") of the Node object: capacity and allocatable */
export function nodeResources(node: string, obj: KubeObject | undefined): Observed {
  const out: Observed = {};
  if (!obj) {
    out[`${node} Node object`] = 'absent';
    return out;
  }
  const status = (obj.status ?? {}) as { capacity?: Record<string, JsonValue>; allocatable?: Record<string, JsonValue> };
  for (const field of ['capacity', 'allocatable'] as const) {
    for (const [name, v] of Object.entries(status[field] ?? {})) {
      if (name.includes('/')) out[`${node} ${field} ${name}`] = String(v);
    }
  }
  return out;
}

/** every Pod's phase (`pod NS/NAME phase`) */
export function podPhases(handle: ClusterHandle): Observed {
  const out: Observed = {};
  for (const p of handle.list('Pod')) {
    const phase = (p.status as { phase?: JsonValue } | undefined)?.phase;
    out[`pod ${p.metadata.namespace ?? 'default'}/${p.metadata.name} phase`] = typeof phase === 'string' ? phase : 'Pending';
  }
  return out;
}

/** the node's sysfs/netdev dump: one exec */
export async function observeNode(handle: ClusterHandle, node: string, n: TextNormaliser): Promise<Observed> {
  let r = await handle.exec({ node }, ['sh', '-c', NODE_SCRIPT], { timeoutMs: 60_000 });
  // killed or timed out (a TCG guest on a loaded machine): once more, so one slow exec is not a difference
  if (r.exitCode === null) r = await handle.exec({ node }, ['sh', '-c', NODE_SCRIPT], { timeoutMs: 120_000 });
  return r.exitCode === 0 ? parseNodeDump(node, r.stdout, n) : { [`${node} observe`]: `exit ${r.exitCode}: ${r.stderr.trim().split('\n')[0] ?? ''}` };
}

export interface QuietOptions {
  /** the Node objects must stay the same this long (wall clock) to be sampled; default 700 (the bundled plugin polls sysfs every 300 ms) */
  quietMs?: number;
  /** give up waiting for quiet after this long and take the last sample; default 10000 */
  maxWaitMs?: number;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Extended resources of every node, once they have stopped changing: a device plugin advertises asynchronously
 * (it polls sysfs, then ListAndWatch, then the kubelet updates the Node), so a sample right after an operation
 * would race with it. `during` runs between the first and the next sample (the sysfs dumps) so the wait overlaps it.
 */
export async function quietResources(handle: ClusterHandle, nodes: readonly string[], during: () => Promise<void>, o: QuietOptions = {}): Promise<Observed> {
  // longer than the simulator's longest link delay (1000 ms, sim/kernel/fuse-server.ts) plus the bundled plugin's
  // 300 ms poll, and than igb's PF carrier gap after a sriov_numvfs write (≈0.5–1.1 s, docs/fidelity.md)
  const quietMs = o.quietMs ?? 1500;
  const maxWaitMs = o.maxWaitMs ?? 10_000;
  const sample = (): Observed => Object.assign({}, ...nodes.map((node) => nodeResources(node, handle.get({ kind: 'Node', name: node }))));
  const start = Date.now();
  let last = sample();
  let lastAt = start;
  await during();
  for (;;) {
    const wait = lastAt + quietMs - Date.now();
    if (wait > 0) await sleepMs(wait);
    await handle.settle();
    const cur = sample();
    if (JSON.stringify(cur) === JSON.stringify(last) || Date.now() - start >= maxWaitMs) return cur;
    last = cur;
    lastAt = Date.now();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What each operation got back from the cluster: a ClusterHandle that records sysfs reads/writes and exec exit codes.

/**
 * Injected timing jitter (`fidelity --jitter MS`): before each operation's call into the cluster and before each
 * observation, a wait of a seeded random 0..maxMs ms. It shifts when things happen relative to the device plugin's
 * polling and the kubelet's updates, to check that what fidelity reports does not depend on that.
 */
export class Jitter {
  private readonly rand: () => number;
  constructor(
    seed: number,
    readonly maxMs: number,
  ) {
    this.rand = mulberry32(seed);
  }
  wait(): Promise<void> {
    const ms = Math.floor(this.rand() * (this.maxMs + 1));
    return ms > 0 ? sleepMs(ms) : Promise.resolve();
  }
}

export interface RecordedCall {
  what: string;
  value: string;
}

export class RecordingHandle implements ClusterHandle {
  private pending: RecordedCall[] = [];
  constructor(
    readonly inner: ClusterHandle,
    readonly jitter?: Jitter,
  ) {}

  private async jittered<T>(f: () => Promise<T>): Promise<T> {
    await this.jitter?.wait();
    return f();
  }

  get backend() {
    return this.inner.backend;
  }
  get nodes() {
    return this.inner.nodes;
  }

  /** what was recorded since the last call */
  take(): RecordedCall[] {
    const r = this.pending;
    this.pending = [];
    return r;
  }

  apply(objects: KubeObject[]): Promise<void> {
    return this.jittered(() => this.inner.apply(objects));
  }
  delete(ref: ObjectRef, opts?: { waitMs?: number; wait?: boolean }): Promise<void> {
    return this.jittered(() => this.inner.delete(ref, opts));
  }
  get(ref: ObjectRef): KubeObject | undefined {
    return this.inner.get(ref);
  }
  list(kind: string, namespace?: string): KubeObject[] {
    return this.inner.list(kind, namespace);
  }
  events(ref?: ObjectRef): KubeObject[] {
    return this.inner.events(ref);
  }
  async exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult> {
    const r = await this.jittered(() => this.inner.exec(target, argv, opts));
    const where = 'pod' in target ? `pod ${target.namespace ?? 'default'}/${target.pod}` : `node ${target.node}`;
    this.pending.push({ what: `exec in ${where} exit code`, value: r.exitCode === null ? 'killed or timed out' : String(r.exitCode) });
    return r;
  }
  async sysfsRead(node: string, path: string): Promise<SysfsResult> {
    const r = await this.jittered(() => this.inner.sysfsRead(node, path));
    this.pending.push({ what: `${node} sysfs read ${path}`, value: r.ok ? (r.value ?? '').trim() : `errno ${r.errno}` });
    return r;
  }
  async sysfsWrite(node: string, path: string, value: string): Promise<SysfsResult> {
    const r = await this.jittered(() => this.inner.sysfsWrite(node, path, value));
    this.pending.push({ what: `${node} sysfs write ${JSON.stringify(value)} to ${path}`, value: r.ok ? 'ok' : `errno ${r.errno}` });
    return r;
  }
  kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    return this.jittered(() => this.inner.kubelet(node, action));
  }
  devicePlugin(node: string, action: DevicePluginAction): Promise<void> {
    return this.jittered(() => this.inner.devicePlugin(node, action));
  }
  nodeReboot(node: string): Promise<void> {
    return this.jittered(() => this.inner.nodeReboot(node));
  }
  fault(node: string, fault: Fault): Promise<void> {
    return this.jittered(() => this.inner.fault(node, fault));
  }
  advanceClock(ms: number): Promise<void> {
    return this.inner.advanceClock(ms);
  }
  settle(): Promise<void> {
    return this.inner.settle();
  }
  /** the inner handle's change signal, so asserts wait on it as in a plain run (none: they poll) */
  get nextChange(): (() => Promise<void>) | undefined {
    const inner = this.inner;
    return inner.nextChange ? () => inner.nextChange!() : undefined;
  }
  collect(node: string, what: Array<'logs' | 'events' | 'sysfs' | 'checkpoint' | 'podResources'>) {
    return this.inner.collect(node, what);
  }
  down(): Promise<void> {
    return this.inner.down();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.inner[Symbol.asyncDispose]();
  }
}

/** the same backend, whose clusters record what operations get back (RecordingHandle), with optional jitter */
export function recordingBackend(b: Backend & BackendRunInfo, jitter?: Jitter): Backend & BackendRunInfo {
  return {
    name: b.name,
    available: () => b.available(),
    provides: (req) => b.provides(req),
    up: async (opts) => new RecordingHandle(await b.up(opts), jitter),
    ...(b.kernelInfo ? { kernelInfo: () => b.kernelInfo!() } : {}),
    ...(b.pluginsUnderTest ? { pluginsUnderTest: (o: Parameters<NonNullable<BackendRunInfo['pluginsUnderTest']>>[0]) => b.pluginsUnderTest!(o) } : {}),
  };
}

/** the outcome of the operation itself: passed, or failed with the error's class (and errno, when it has one) */
export function operationOutcome(r: OperationResult): string {
  if (r.status !== 'failed') return r.status;
  const errno = r.error?.fields?.errno;
  return `failed: ${r.error?.name ?? 'Error'}${typeof errno === 'string' && errno ? ` ${errno}` : ''}`;
}

/** Collects one scenario's observations on one backend; `hook` is the runner's afterOperation. */
export class ScenarioObserver {
  readonly normaliser = new Normaliser();
  /** values as read (not normalised): finish() normalises them once every MAC's owner is known */
  readonly operations: OperationObservation[] = [];

  constructor(
    private readonly nodes: readonly string[],
    private readonly quiet: QuietOptions = {},
    private readonly jitter?: Jitter,
  ) {}

  readonly hook = async (ctx: AfterOperationContext): Promise<void> => {
    const rec = ctx.handle instanceof RecordingHandle ? ctx.handle : undefined;
    const handle = rec?.inner ?? ctx.handle;
    const values: Observed = { 'operation outcome': operationOutcome(ctx.result) };
    // repeated reads (a sysfs wait polling) count once: the last value; writes are numbered
    const writes = new Map<string, number>();
    for (const c of rec?.take() ?? []) {
      if (c.what.includes(' sysfs write ')) {
        const i = (writes.get(c.what) ?? 0) + 1;
        writes.set(c.what, i);
        values[i === 1 ? c.what : `${c.what} (#${i})`] = c.value;
      } else values[c.what] = c.value;
    }
    if (!ctx.signal.aborted) {
      await this.jitter?.wait();
      await handle.settle();
      // the dumps after the quiet wait, not during it: a link the kernel holds down for a while (a PF re-initialised
      // by a sriov_numvfs write) is back by then on both sides, so its state is the settled one, not a race
      const resources = await quietResources(handle, this.nodes, async () => undefined, this.quiet);
      const dumps: Observed = {};
      for (const node of this.nodes) Object.assign(dumps, await observeNode(handle, node, asIs));
      Object.assign(values, dumps, resources, podPhases(handle));
    }
    this.operations.push({
      key: `${ctx.stepIndex}/${ctx.phase}/${ctx.operationIndex}`,
      stepIndex: ctx.stepIndex,
      stepName: ctx.stepName,
      phase: ctx.phase,
      kind: ctx.operation.kind,
      title: ctx.operation.title,
      ...(ctx.operation.location ? { location: ctx.operation.location } : {}),
      values,
    });
  };

  /** the finished scenario: this observer's operations plus what its trace shows, normalised */
  finish(r: ScenarioResult): ScenarioObservation {
    const timeline: ScenarioObservation['timeline'] = [];
    r.steps.forEach((st, stepIndex) => {
      const perPhase = new Map<string, number>();
      for (const op of st.operations) {
        const phase = op.phase ?? 'try';
        const i = perPhase.get(phase) ?? 0;
        perPhase.set(phase, i + 1);
        timeline.push({ key: `${stepIndex}/${phase}/${i}`, startMs: op.startMs });
      }
    });
    const n = this.normaliser;
    claimVfMacs(this.operations, n, this.nodes.length > 1);
    claimCniMacs(r.trace, n);
    for (const o of this.operations) {
      for (const k of Object.keys(o.values)) if (!k.includes(' sysfs write ')) o.values[k] = n.text(o.values[k]);
    }
    const trace = traceObservations(r.trace, n);
    const states = stateSequences(r.trace, timeline);
    // the device list each stream advertised when the operation had settled: part of the operation's state
    for (const seq of states) {
      for (const st of seq.states) {
        for (const key of st.settledAfter) {
          const o = this.operations.find((x) => x.key === key);
          if (o) o.values[`${seq.what} devices`] = st.value;
        }
      }
    }
    return {
      id: r.id,
      name: r.name,
      file: r.file,
      status: r.status,
      ...(r.skipReason ? { skipReason: r.skipReason } : {}),
      ...(r.error ? { error: `${r.error.name}: ${r.error.message}` } : {}),
      operations: this.operations,
      trace,
      states,
      timeline,
    };
  }
}

/** a pod's name as a MAC owner: "dpdk-pod", or "ns/name" outside the default namespace */
const podOwner = (pod: string | undefined): string => (pod ?? '?').replace(/^default\//, '');

/** the MAC in a VF's `ip link` line is the VF's: `vf 0000:01:10.2` (with the node when there are several) */
function claimVfMacs(ops: readonly OperationObservation[], n: Normaliser, multiNode: boolean): void {
  for (const o of ops) {
    for (const [k, v] of Object.entries(o.values)) {
      const m = /^(\S+) vf (\S+) ip mac$/.exec(k);
      if (!m) continue;
      const addr = o.values[`${m[1]} vf ${m[2]} pciAddr`] ?? m[2];
      n.claimMac(v, `vf ${multiNode ? `${m[1]} ` : ''}${addr}`, MAC_OWNER_RANK.vf);
    }
  }
}

/**
 * The bridge interfaces of a bridge plugin's result (and of its prevResult in stdin): the interface outside the pod
 * that is not the veth. Path of its `mac` (as traceObservations keys it) → bridge name. A Linux bridge without an
 * address of its own takes the lowest MAC of its ports (br_stp_recalculate_bridge_id, net/bridge/br_stp_if.c), so
 * which one depends on the random veth MACs: kernel-chosen, compared as `<mac:bridge NAME>`.
 */
export function bridgeMacPaths(c: CniEvent): Map<string, string> {
  const out = new Map<string, string>();
  if (base(c.plugin) !== 'bridge') return out;
  const stdin = typeof c.stdin === 'string' ? safeJson(c.stdin) : c.stdin;
  for (const [prefix, res] of [['result', c.stdout], ['stdin.prevResult', asObject(stdin)?.prevResult]] as const) {
    const parsed = typeof res === 'string' ? safeJson(res) : res;
    const ifaces = asObject(parsed)?.interfaces;
    if (!Array.isArray(ifaces)) continue;
    ifaces.forEach((i, k) => {
      const f = asObject(i);
      if (f && typeof f.name === 'string' && !f.sandbox && !/^veth/.test(f.name)) out.set(`${prefix}.interfaces[${k}].mac`, f.name);
    });
  }
  return out;
}

/** the MACs of a CNI result's interfaces are the pod's: `pod/dpdk-pod/eth0` (in the pod), `…/eth0 host side` */
function claimCniMacs(trace: readonly TraceEvent[], n: Normaliser): void {
  for (const e of trace) {
    if (e.kind !== 'cni') continue;
    const c = e as CniEvent;
    const bridges = new Set(bridgeMacPaths(c).values());
    const results = [c.stdout, (asObject(c.stdin) ?? {}).prevResult];
    for (const res of results) {
      const parsed = typeof res === 'string' ? safeJson(res) : res;
      const ifaces = asObject(parsed)?.interfaces;
      if (!Array.isArray(ifaces)) continue;
      for (const i of ifaces) {
        const f = asObject(i);
        if (!f || typeof f.mac !== 'string') continue;
        if (typeof f.name === 'string' && !f.sandbox && bridges.has(f.name)) continue; // the bridge's: not the pod's
        const inPod = typeof f.sandbox === 'string' && f.sandbox !== '';
        const name = inPod && typeof f.name === 'string' ? f.name : `${c.env.CNI_IFNAME ?? '?'} host side`;
        n.claimMac(f.mac, `pod/${podOwner(c.pod)}/${name}`, MAC_OWNER_RANK.podInterface);
      }
    }
  }
}

function asObject(v: JsonValue | undefined): { [k: string]: JsonValue } | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function safeJson(s: string): JsonValue | undefined {
  try {
    return JSON.parse(s) as JsonValue;
  } catch {
    return undefined;
  }
}

/**
 * Each ListAndWatch stream's distinct device lists, in order, each marked with the operations after which it was
 * the stream's state (the last list sent before the next operation started).
 */
export function stateSequences(trace: readonly TraceEvent[], timeline: ScenarioObservation['timeline']): StateSequence[] {
  const seqs = new Map<string, StateSequence>();
  for (const e of trace) {
    if (e.kind !== 'grpc') continue;
    const g = e as GrpcEvent;
    if (!g.method.endsWith('/ListAndWatch') || g.stream !== 'message') continue;
    const what = `ListAndWatch ${`${g.node ?? ''} ${g.socket ? base(g.socket) : ''}`.trim()}`;
    let seq = seqs.get(what);
    if (!seq) seqs.set(what, (seq = { what, states: [] }));
    const value = deviceList(g.response);
    if (seq.states.at(-1)?.value === value) continue;
    seq.states.push({ value, atMs: g.atMs, settledAfter: [] });
  }
  timeline.forEach((t, i) => {
    const end = timeline[i + 1]?.startMs ?? Infinity;
    for (const seq of seqs.values()) {
      let last: StateSequence['states'][number] | undefined;
      for (const st of seq.states) if (st.atMs < end) last = st;
      last?.settledAfter.push(t.key);
    }
  });
  return [...seqs.values()].sort((x, y) => (x.what < y.what ? -1 : x.what > y.what ? 1 : 0));
}

/** a ListAndWatch message's devices as `ID health`, sorted, comma-separated; `(none)` for an empty list */
export function deviceList(response: JsonValue | undefined): string {
  const resp = (asObject(response) ?? {}) as { devices?: Array<{ ID?: string; health?: string }> };
  return (resp.devices ?? []).map((d) => `${d.ID ?? '?'} ${d.health ?? '?'}`).sort().join(', ') || '(none)';
}

// ---------------------------------------------------------------------------------------------------------------
// The trace: Allocate calls per node in order; CNI calls per pod, interface and command, in order. (The
// ListAndWatch device lists are state sequences: stateSequences above.)

/** a CNI result's pod address (`result.ips[0].address`) */
export const IPAM_ADDRESS = /\bresult\.ips\[\d+\]\.address$/;

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

export function traceObservations(trace: readonly TraceEvent[], normaliser: Normaliser): TraceObservation[] {
  // collected raw, then normalised in the order of their keys: events of different pods interleave differently
  // from run to run, and placeholder numbers must not depend on that
  const n = asIs;
  const out: TraceObservation[] = [];
  const bridgeMacs = new Map<string, string>();
  const counters = new Map<string, number>();
  const next = (k: string) => {
    const i = counters.get(k) ?? 0;
    counters.set(k, i + 1);
    return i;
  };
  for (const e of trace) {
    if (e.kind === 'grpc') {
      const g = e as GrpcEvent;
      if (g.method.endsWith('/Allocate')) {
        const at = `Allocate ${g.node ?? ''}[${next(`a ${g.node}`)}]`;
        for (const [k, v] of flattenJson(g.request, n, 'request')) out.push({ what: `${at} ${k}`, value: v, atMs: g.atMs });
        for (const [k, v] of flattenJson(g.response, n, 'response')) out.push({ what: `${at} ${k}`, value: v, atMs: g.atMs });
        out.push({ what: `${at} status`, value: g.status ? `${g.status.name}: ${n.text(g.status.details)}` : 'OK', atMs: g.atMs });
      }
    } else if (e.kind === 'cni') {
      const c = e as CniEvent;
      const ifname = c.env.CNI_IFNAME ?? '?';
      const at = `CNI ${c.command} ${c.pod ?? '?'} ${ifname}[${next(`c ${c.command} ${c.pod} ${ifname}`)}]`;
      out.push({ what: `${at} plugin`, value: base(c.plugin), atMs: c.atMs });
      out.push({ what: `${at} exit code`, value: String(c.exitCode), atMs: c.atMs });
      for (const [k, v] of Object.entries(c.env).sort()) {
        if (k.startsWith('CNI_') && k !== 'CNI_PATH') out.push({ what: `${at} env ${k}`, value: n.text(v), atMs: c.atMs });
      }
      for (const [k, v] of flattenJson(c.stdin, n, 'stdin')) out.push({ what: `${at} ${k}`, value: v, atMs: c.atMs });
      for (const [k, v] of flattenJson(c.stdout, n, 'result')) out.push({ what: `${at} ${k}`, value: v, atMs: c.atMs });
      for (const [k, name] of bridgeMacPaths(c)) bridgeMacs.set(`${at} ${k}`, `<mac:bridge ${name}>`);
    }
  }
  const byKey = [...out].sort((x, y) => (x.what < y.what ? -1 : x.what > y.what ? 1 : 0));
  for (const o of byKey) {
    // pod addresses come from IPAM in the order concurrent ADDs reach it: not a kernel property
    o.value = bridgeMacs.get(o.what) ?? (IPAM_ADDRESS.test(o.what) ? normaliser.placeholder('ip', o.value) : normaliser.text(o.value));
  }
  return out;
}
