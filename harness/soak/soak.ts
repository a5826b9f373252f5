// `sriov-lab soak`: a randomized fault soak on the sim backend, or on QEMU guests with igb (qemu). Steps drawn from
// the seed for the backend (plan.ts) run one by one against one cluster; after each, the cluster settles and the
// invariants (invariants.ts) are checked on an observation (observe.ts), made through the node interface the same way
// on both backends. On a violation the step list is shrunk (shrink.ts), each candidate re-run on a fresh cluster, and
// the smallest list that still violates is written as a scenario file for `sriov-lab run`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { NodeSpecInput, Topology } from '../../sim/topology/topology.ts';
import type { TraceEvent } from '../../sim/trace.ts';
import { DEFAULT_BRIDGE } from '../../sim/cluster/node-runtime.ts';
import type { BackendUpOptions, ClusterHandle, Fault, KubeObject } from '../backend.ts';
import { LabCluster, type LabNode } from '../cluster/lab-cluster.ts';
import { LabClusterHandle } from '../cluster/handle.ts';
import { SimNodeProvider, simProviderOptions, type SimLabNode } from '../backends/sim.ts';
import { QemuProvider } from '../backends/qemu.ts';
import { SCENARIO_API_VERSION, SCENARIO_KIND, type OperationInput, type ScenarioInput } from '../scenario/types.ts';
import { baselineOf, checkInvariants, type Observation, type UncomparedSettings, type VfBaseline, type VfDefaultsRules, type Violation } from './invariants.ts';
import { observe } from './observe.ts';
import { describeStep, planSteps, stepsLeftOut, type LeftOutStep, type SoakBackendName, type SoakStep, type SoakStepKind, type SoakTarget } from './plan.ts';
import { shrink } from './shrink.ts';

export const SOAK_RESOURCE = 'intel.com/sriov_netdevice';
export const SOAK_NAD: KubeObject = {
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name: 'soak-net', namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/resourceName': SOAK_RESOURCE } },
  // settings the CNI must undo on DEL, so a VF left with them shows
  spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'sriov', vlan: 100, spoofchk: 'off', trust: 'on', ipam: { type: 'host-local', subnet: '192.168.70.0/24' } }) },
};

/** a pod of the soak: one VF of the soak network, and a process (so the leak check has one to find if it outlives its pod) */
export function soakPod(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'soak-net' } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], resources: { limits: { [SOAK_RESOURCE]: '1' } } }] },
  } as KubeObject;
}

/** the default topology: per node one i350 with four VFs */
export function soakNodes(count: number): NodeSpecInput[] {
  return Array.from({ length: count }, (_, i) => ({ name: `node${i + 1}`, nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 4 }] }));
}

export interface SoakOptions {
  /** where the nodes run (default sim) */
  backend?: SoakBackendName;
  seed: number;
  iterations: number;
  topology: Topology;
  /** how the written scenario names its nodes: a topology file (relative to the scenario), or inline */
  scenarioTopology: { topology: string } | { nodes: NodeSpecInput[] };
  workDir?: string;
  /** where a reproducing scenario goes (default: soak-<seed>.yaml in the current directory) */
  scenarioOut?: string;
  /** shrink trials at most (each a fresh cluster) */
  maxShrinkTrials?: number;
  progress?: (line: string) => void;
  /** stops the soak after the current step; the cluster is still taken down and checked for leaks */
  signal?: AbortSignal;
  /** test hook: a chance to corrupt an observation before it is checked */
  tamper?: (obs: Observation, stepIndex: number) => void;
}

export interface SoakFigures {
  backend: SoakBackendName;
  seed: number;
  iterations: number;
  violations: number;
  /** the soak was stopped (Ctrl-C) before its last step */
  interrupted: boolean;
  wallMs: number;
  /** of the first run's wall time, what was not its steps: the cluster coming up and going down, the leak check */
  bootMs: number;
  /** the first run's steps per second of stepping (cluster boot and teardown left out) */
  stepsPerSecond: number;
  /** per step kind: how many ran and how many were no-ops in the cluster's state then (e.g. delete of no pod) */
  perKind: Record<string, { ran: number; skipped: number }>;
  leaks: string[];
  /** the steps the backend does not draw, and why */
  leftOut: LeftOutStep[];
  /** VF settings the invariant vfDefaults does not compare (or compares with an exception, "compared, except: …") on
   * the backend's NIC, and why */
  notCompared: UncomparedSettings;
  shrink?: { fromSteps: number; toSteps: number; trials: number; exhausted: boolean; scenario: string };
  firstViolation?: Violation & { step: number; description: string };
}

interface StepRecord {
  step: SoakStep;
  ops: OperationInput[];
}

/** the VF settings QEMU's igb (82576) does not give back to compare: the kernel's igb reports no VF link state, and
 * refuses max_tx_rate while the PF link is down (EINVAL; min_tx_rate always): the CNI cannot restore them either */
const IGB_UNCOMPARED: UncomparedSettings = {
  linkState: 'igb has no VF link state (ndo_set_vf_link_state): `ip link` shows none',
  maxTxRate: 'igb refuses max_tx_rate while the PF link is down (EINVAL), so a rate cannot always be restored',
  minTxRate: 'igb has no min_tx_rate (always 0)',
};

/** how vfDefaults reads the VFs of the backend's NIC */
export function vfDefaultsRules(backend: SoakBackendName): VfDefaultsRules {
  if (backend === 'sim') return {};
  return {
    uncompared: IGB_UNCOMPARED,
    vfOwnMac: "igb's PF shows the MAC igbvf registered when the VF's netdev first came up (a random one): a free VF with its own netdev's MAC kept its default",
  };
}

/** the cluster of one soak run: a handle for the steps, the nodes' interfaces for the leak check */
interface SoakCluster {
  h: ClusterHandle;
  lc: LabCluster<LabNode>;
  pfs: Map<string, string[]>;
  /** what the machines left on this host once the cluster is down (sim: namespaces, mounts, processes; qemu: VMs) */
  machineLeftovers: () => string[];
}

async function startCluster(o: SoakOptions, workDir: string): Promise<SoakCluster> {
  const trace = (_e: TraceEvent) => undefined;
  const opts: BackendUpOptions = { topology: o.topology, seed: o.seed, workDir, devicePlugin: {}, trace, progress: o.backend === 'qemu' ? o.progress : undefined };
  const pfs = new Map(o.topology.nodes.map((n) => [n.name, n.nics.filter((c) => c.numVfs > 0).map((c) => c.ifname)]));
  if (o.backend === 'qemu') {
    const lc = await LabCluster.start<LabNode>(new QemuProvider(), opts);
    return { h: new LabClusterHandle(lc), lc, pfs, machineLeftovers: () => vmsLeftBehind(o.topology.nodes.map((n) => `${n.name}-${process.pid}`)) };
  }
  const lc = await LabCluster.start(new SimNodeProvider(simProviderOptions(opts)), opts);
  return { h: new LabClusterHandle(lc), lc, pfs, machineLeftovers: () => leftBehind(lc.nodes.values()) };
}

function target(t: Topology): SoakTarget {
  const nodes = t.nodes.map((n) => ({ name: n.name, pfs: n.nics.map((c) => ({ ifname: c.ifname, numVfs: c.numVfs })) }));
  const vfs = nodes.flatMap((n) => n.pfs).reduce((a, p) => a + p.numVfs, 0);
  return { nodes, podNames: Math.max(2, vfs + 2) };
}

/** runs one operation as `sriov-lab run` would, against the handle; the errno of a sysfs write is its result */
async function runOp(h: ClusterHandle, op: OperationInput): Promise<string | undefined> {
  if (op.apply) await h.apply([(op.apply.resource ?? {}) as KubeObject]);
  else if (op.delete) await h.delete({ kind: op.delete.kind ?? 'Pod', name: op.delete.name ?? '', namespace: op.delete.namespace });
  else if (op.kubelet && typeof op.kubelet === 'object') await h.kubelet(op.kubelet.node!, op.kubelet.action);
  else if (op.devicePlugin && typeof op.devicePlugin === 'object') await h.devicePlugin(op.devicePlugin.node!, op.devicePlugin.action);
  else if (op.fault) {
    const { node, ...fault } = op.fault;
    await h.fault(node!, fault as Fault);
  } else if (op.sysfs) {
    const r = await h.sysfsWrite(op.sysfs.node!, op.sysfs.path, String(op.sysfs.write));
    return r.ok ? undefined : r.errno;
  } else throw new Error(`the soak does not run ${Object.keys(op).join(',')}`);
  return undefined;
}

interface RunState {
  pluginKilled: Set<string>;
}

function livePodOn(h: ClusterHandle, pciAddr: string): boolean {
  return h.list('Pod').some((p) => p.metadata.deletionTimestamp === undefined && (p.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '').includes(`"${pciAddr}"`));
}

/** the operations one step is in the cluster's state now (none: it is a no-op here), run as they are decided */
async function runStep(o: SoakOptions, c: SoakCluster, step: SoakStep, st: RunState): Promise<OperationInput[]> {
  const { h } = c;
  const ops: OperationInput[] = [];
  const run = async (op: OperationInput) => {
    const errno = await runOp(h, op);
    if (op.sysfs && errno) op.sysfs.errno = errno;
    ops.push(op);
    return errno;
  };
  switch (step.kind) {
    case 'podCreate':
      if (h.get({ kind: 'Pod', name: step.pod })) await run({ title: `fast recreate ${step.pod}`, delete: { kind: 'Pod', name: step.pod } });
      await run({ apply: { resource: soakPod(step.pod) as never } });
      break;
    case 'podDelete':
      if (h.get({ kind: 'Pod', name: step.pod })) await run({ delete: { kind: 'Pod', name: step.pod } });
      break;
    case 'kubeletRestart':
      await run({ kubelet: { action: 'restart', node: step.node } });
      break;
    case 'netnsVanish': {
      const p = h.get({ kind: 'Pod', name: step.pod }) as (KubeObject & { spec?: { nodeName?: string }; status?: { phase?: string } }) | undefined;
      const node = p?.spec?.nodeName;
      if (!p || !node || p.status?.phase !== 'Running' || p.metadata.deletionTimestamp !== undefined) break;
      await run({ fault: { kind: 'netnsRemove', node, pod: step.pod } });
      await run({ delete: { kind: 'Pod', name: step.pod } });
      break;
    }
    case 'pluginKill':
      if (st.pluginKilled.has(step.node)) break;
      await run({ devicePlugin: { action: 'kill', node: step.node } });
      st.pluginKilled.add(step.node);
      break;
    case 'pluginStart':
      if (!st.pluginKilled.has(step.node)) break;
      await run({ devicePlugin: { action: 'start', node: step.node } });
      st.pluginKilled.delete(step.node);
      break;
    case 'pluginRestart':
      await run({ devicePlugin: { action: st.pluginKilled.has(step.node) ? 'start' : 'restart', node: step.node } });
      st.pluginKilled.delete(step.node);
      break;
    case 'socketDelete':
      if (st.pluginKilled.has(step.node)) break;
      await run({ devicePlugin: { action: 'deleteSocket', node: step.node } });
      break;
    case 'ipamFail':
      await run({ fault: { kind: 'ipamFail', node: step.node, count: 1 } });
      break;
    case 'vfFlap':
      await run({ fault: { kind: 'vfLink', node: step.node, pf: step.pf, vf: step.vf, up: false } });
      await h.settle();
      await run({ fault: { kind: 'vfLink', node: step.node, pf: step.pf, vf: step.vf, up: true } });
      break;
    case 'pfFlap':
      await run({ fault: { kind: 'pfLink', node: step.node, pf: step.pf, up: false } });
      await h.settle();
      await run({ fault: { kind: 'pfLink', node: step.node, pf: step.pf, up: true } });
      break;
    case 'vfCount': {
      // an operator changes sriov_numvfs only with no VF in use (the kernel's EBUSY is for a non-zero change anyway)
      const pf = c.pfs.get(step.node)?.find((p) => p === step.pf);
      const numVfs = o.topology.nodes.find((n) => n.name === step.node)?.nics.find((n) => n.ifname === step.pf)?.numVfs ?? 0;
      const inUse = h.list('Pod').some((p) => (p.spec as { nodeName?: string } | undefined)?.nodeName === step.node && (p.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '').includes('pci-address'));
      if (!pf || inUse) break;
      const path = `/sys/class/net/${pf}/device/sriov_numvfs`;
      if (await run({ sysfs: { node: step.node, path, write: 0 } })) break;
      await h.settle();
      await run({ sysfs: { node: step.node, path, write: numVfs } });
      break;
    }
    case 'driverRebind': {
      // only a VF no pod has: rebinding one in use is the workload's doing (sriov-network-operator #443), not churn
      const link = await h.exec({ node: step.node }, ['bash', '-c', `a=$(basename "$(readlink /sys/class/net/${step.pf}/device/virtfn${step.vf})") && echo "$a $(basename "$(readlink /sys/bus/pci/devices/$a/driver)")"`]);
      const [pciAddr, driver] = link.stdout.trim().split(/\s+/);
      if (link.exitCode !== 0 || !pciAddr || !driver || livePodOn(h, pciAddr)) break;
      const bind = `/sys/bus/pci/drivers/${driver}/bind`;
      if (step.errno) await run({ fault: { kind: 'sysfsFailWrites', node: step.node, path: bind, errno: step.errno, count: 1 } });
      if (await run({ sysfs: { node: step.node, path: `/sys/bus/pci/drivers/${driver}/unbind`, write: pciAddr } })) break;
      // the operator tries again when the bind fails
      for (let i = 0; i < 2 && (await run({ sysfs: { node: step.node, path: bind, write: pciAddr } })); i++);
      break;
    }
  }
  await h.settle();
  return ops;
}

const SETTLE_RETRIES = 25;
const SETTLE_RETRY_MS = 200;

/** the invariants once the cluster is quiet: a violation must last ~5 s of settling to count (a plugin re-registers
 * and the kubelet reports after a step's settle) */
async function settledViolations(c: SoakCluster, baseline: VfBaseline, rules: VfDefaultsRules, tamper?: (obs: Observation) => void): Promise<Violation[]> {
  let last: Violation[] = [];
  let failed: Error | undefined;
  for (let i = 0; i < SETTLE_RETRIES; i++) {
    if (i > 0) {
      await new Promise((r) => setTimeout(r, SETTLE_RETRY_MS));
      await c.h.settle();
    }
    let obs: Observation;
    try {
      obs = await observe(c.h, c.pfs);
    } catch (e) {
      // a read that timed out on a loaded guest (the pod-resources call under TCG) is tried again; one that fails all
      // through the settling is the soak's error
      failed = e as Error;
      continue;
    }
    failed = undefined;
    tamper?.(obs);
    last = checkInvariants(obs, baseline, rules);
    if (last.length === 0) return last;
  }
  if (failed) throw failed;
  return last;
}

/** what a finished run left behind on this machine: namespaces, mounts and processes of its nodes */
function leftBehind(nodes: Iterable<SimLabNode>): string[] {
  const out: string[] = [];
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  const procs = processCommandLines().filter(([p]) => p !== process.pid);
  for (const n of nodes) {
    for (const ns of netns.filter((x) => x === n.node.netns || x.startsWith(`${n.node.netns}-`))) out.push(`network namespace ${ns}`);
    if (mounts.includes(n.node.rootDir)) out.push(`a mount under ${n.node.rootDir}`);
    for (const [p, cmd] of procs) if (cmd.includes(n.node.rootDir)) out.push(`process ${p}: ${cmd.slice(0, 120)}`);
  }
  return out;
}

/** every process of this machine with its command line (arguments joined by spaces); those gone meanwhile left out */
function processCommandLines(): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      out.push([Number(p), readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')]);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** QEMU processes and run directories of this process's VMs (named NODE-PID) still there */
function vmsLeftBehind(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const [p, cmd] of processCommandLines()) {
    if (/qemu-system/.test(cmd) && names.some((n) => cmd.includes(`sl-vm-${n}-`))) out.push(`QEMU process ${p}: ${cmd.slice(0, 120)}`);
  }
  for (const d of readdirSync(tmpdir()).filter((f) => names.some((n) => f.startsWith(`sl-vm-${n}-`)))) out.push(`VM run directory ${join(tmpdir(), d)}`);
  return out;
}

/**
 * With every pod deleted, what the nodes still hold for pods, asked through the node interface (podLeftovers: netns,
 * IPAM leases, mounts, processes, after one sandbox GC run as the kubelet would make), and the netdevs in each node
 * that were not there at boot, other than the VFs' and the default network's bridge.
 */
async function podLeftovers(c: SoakCluster, bootLinks: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, n] of c.lc.nodes) {
    await n.api.call('gcSandboxes', {});
    const l = await n.api.call('podLeftovers', {});
    for (const x of [...l.netns, ...l.ipamLeases, ...l.mounts, ...l.processes]) out.push(`${name}: ${x}`);
  }
  const obs = await observe(c.h, c.pfs);
  for (const n of obs.nodes) {
    const boot = new Set(bootLinks.get(n.name) ?? []);
    const vfNetdevs = new Set(n.vfs.flatMap((v) => v.netdevs));
    for (const l of n.links) if (!boot.has(l) && !vfNetdevs.has(l) && l !== DEFAULT_BRIDGE) out.push(`${n.name}: netdev ${l}`);
  }
  return out;
}

interface RunOutcome {
  records: StepRecord[];
  /** the index of the step after which the invariants failed */
  violation?: { step: number; violations: Violation[] };
  leaks: string[];
  wallMs: number;
  /** of wallMs, the steps' (the cluster up, from the first step to the last check) */
  stepsMs: number;
}

/** runs a step list on a fresh cluster, stopping at the first violation */
async function runOnce(o: SoakOptions, steps: readonly SoakStep[], report: boolean): Promise<RunOutcome> {
  const t0 = performance.now();
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'sl-soak-'));
  const c = await startCluster(o, workDir);
  const records: StepRecord[] = [];
  let violation: RunOutcome['violation'];
  let leaks: string[] = [];
  let tSteps = 0;
  let stepsMs = 0;
  try {
    await c.h.apply([SOAK_NAD]);
    // the baseline: every node's plugin registered its VFs, and the VFs' settings as the node came up
    const rules = vfDefaultsRules(o.backend ?? 'sim');
    const start = await settledViolations(c, new Map(), rules);
    if (start.length) throw new Error(`the cluster is not sound before the first step: ${start.map((v) => v.message).join('; ')}`);
    const boot = await observe(c.h, c.pfs);
    const baseline = baselineOf(boot);
    const bootLinks = new Map(boot.nodes.map((n) => [n.name, n.links]));
    const st: RunState = { pluginKilled: new Set() };
    tSteps = performance.now();
    for (const [i, step] of steps.entries()) {
      if (o.signal?.aborted) break;
      records.push({ step, ops: await runStep(o, c, step, st) });
      const vs = await settledViolations(c, baseline, rules, o.tamper ? (obs) => o.tamper!(obs, i) : undefined);
      if (report && (i + 1) % 10 === 0) o.progress?.(`  ${i + 1}/${steps.length} steps, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      if (vs.length) {
        violation = { step: i, violations: vs };
        break;
      }
    }
    stepsMs = performance.now() - tSteps;
    if (!violation) {
      for (const p of c.h.list('Pod')) await c.h.delete({ kind: 'Pod', name: p.metadata.name });
      // with no pod left every VF is free: each back at its settings from boot, its netdev in the node
      await c.h.settle();
      const end = await settledViolations(c, baseline, rules);
      leaks = [...end.map((v) => `with every pod deleted: [${v.invariant}] ${v.message}`), ...(await podLeftovers(c, bootLinks))];
    }
  } finally {
    await c.h.down();
    leaks.push(...c.machineLeftovers());
    if (!o.workDir) rmSync(workDir, { recursive: true, force: true });
  }
  return { records, violation, leaks, wallMs: performance.now() - t0, stepsMs };
}

/** the reproducing scenario: the NAD, one scenario step per soak step that did something, then the observations */
/** the command that found it: `sriov-lab soak [--backend qemu] --seed N` */
function soakCommandLine(o: Pick<SoakOptions, 'seed' | 'backend'>): string {
  return `sriov-lab soak${o.backend === 'qemu' ? ' --backend qemu' : ''} --seed ${o.seed}`;
}

export function reproScenario(o: Pick<SoakOptions, 'seed' | 'scenarioTopology' | 'backend'>, records: readonly StepRecord[], violations: readonly Violation[]): ScenarioInput {
  const nodes = [...new Set(violations.map((v) => v.node).filter((n): n is string => n !== undefined))];
  return {
    apiVersion: SCENARIO_API_VERSION,
    kind: SCENARIO_KIND,
    metadata: {
      name: `soak-seed-${o.seed}`,
      description: `found by ${soakCommandLine(o)}; after the last step: ${violations.map((v) => `[${v.invariant}] ${v.message}`).join('; ')}`,
      tags: ['soak'],
    },
    spec: {
      ...o.scenarioTopology,
      requires: ['root', 'fuse', 'cniPlugins'],
      steps: [
        { name: 'the soak network', try: [{ apply: { resource: SOAK_NAD as never } }] },
        ...records
          .map((r, i) => ({ name: `${i + 1}: ${describeStep(r.step)}`, try: r.ops }))
          .filter((s) => s.try.length > 0),
        {
          name: 'the state the invariant was checked on',
          try: [{ sleep: 2000 }, ...(nodes.length ? nodes : ['']).map((n): OperationInput => ({ collect: { ...(n ? { node: n } : {}), what: ['podResources', 'checkpoint', 'sysfs', 'logs', 'events'] } }))],
        },
      ],
    },
  };
}

/** fresh-cluster re-runs when shrinking: a QEMU cluster boots in about a minute under TCG, a sim one in seconds */
export function defaultShrinkTrials(backend: SoakBackendName): number {
  return backend === 'qemu' ? 6 : 40;
}

export async function soak(o: SoakOptions): Promise<SoakFigures> {
  const t0 = performance.now();
  const backend = o.backend ?? 'sim';
  const steps = planSteps(o.seed, o.iterations, target(o.topology), backend);
  const leftOut = stepsLeftOut(backend);
  const rules = vfDefaultsRules(backend);
  const notCompared = { ...rules.uncompared, ...(rules.vfOwnMac ? { mac: `compared, except: ${rules.vfOwnMac}` } : {}) };
  o.progress?.(`soak: seed ${o.seed}, ${steps.length} steps on ${o.topology.nodes.length} ${backend} node(s)`);
  for (const l of leftOut) o.progress?.(`  not drawn on ${backend}: ${l.kind}${l.variant ? ` (${l.variant})` : ''}: ${l.reason}`);
  for (const [k, why] of Object.entries(notCompared)) o.progress?.(`  vfDefaults on ${backend}: ${k}: ${why.startsWith('compared') ? why : `not compared: ${why}`}`);
  const first = await runOnce(o, steps, true);
  const perKind: SoakFigures['perKind'] = {};
  for (const r of first.records) {
    const k = (perKind[r.step.kind as SoakStepKind] ??= { ran: 0, skipped: 0 });
    if (r.ops.length) k.ran++;
    else k.skipped++;
  }
  const figures: SoakFigures = {
    backend,
    seed: o.seed,
    iterations: first.records.length,
    violations: first.violation ? 1 : 0,
    interrupted: first.records.length < steps.length && !first.violation,
    wallMs: 0,
    bootMs: first.wallMs - first.stepsMs,
    stepsPerSecond: first.stepsMs > 0 ? first.records.length / (first.stepsMs / 1000) : 0,
    perKind,
    leaks: first.leaks,
    leftOut,
    notCompared,
  };
  if (first.violation && !o.signal?.aborted) {
    const v = first.violation.violations[0];
    figures.firstViolation = { ...v, step: first.violation.step + 1, description: describeStep(steps[first.violation.step]) };
    o.progress?.(`violation after step ${first.violation.step + 1} (${describeStep(steps[first.violation.step])}): [${v.invariant}] ${v.message}`);
    const failing = steps.slice(0, first.violation.step + 1);
    let lastFail: RunOutcome = first;
    const shrunk = await shrink(
      failing,
      async (candidate) => {
        const r = await runOnce(o, candidate, false);
        const kept = r.violation?.violations.some((x) => x.invariant === v.invariant) ?? false;
        o.progress?.(`  shrink: ${candidate.length} steps ${kept ? 'still violate' : 'pass'}`);
        if (kept) lastFail = r;
        return kept;
      },
      o.maxShrinkTrials ?? defaultShrinkTrials(backend),
    );
    const file = o.scenarioOut ?? join(process.cwd(), `soak-${o.seed}.yaml`);
    const vs = lastFail.violation?.violations ?? first.violation.violations;
    const text = `# Written by ${soakCommandLine(o)}: ${shrunk.items.length} of ${failing.length} steps still violate ${v.invariant}.\n${stringify(reproScenario(o, lastFail.records, vs))}`;
    writeFileSync(file, text);
    figures.shrink = { fromSteps: failing.length, toSteps: shrunk.items.length, trials: shrunk.trials, exhausted: shrunk.exhausted, scenario: file };
  }
  figures.violations += figures.leaks.length;
  figures.wallMs = performance.now() - t0;
  return figures;
}

export function renderFigures(f: SoakFigures): string {
  const lines = [`${f.iterations} iterations, ${f.violations} violations${f.interrupted ? ' (interrupted)' : ''}`];
  lines.push(`wall time ${(f.wallMs / 1000).toFixed(1)} s (${(f.bootMs / 1000).toFixed(1)} s of it cluster up/down and leak check), ${f.stepsPerSecond.toFixed(2)} steps/s (seed ${f.seed}, ${f.backend})`);
  for (const l of f.leftOut) lines.push(`  not drawn: ${l.kind}${l.variant ? ` (${l.variant})` : ''}: ${l.reason}`);
  for (const [k, why] of Object.entries(f.notCompared)) lines.push(`  vfDefaults: ${k}: ${why.startsWith('compared') ? why : `not compared: ${why}`}`);
  const w = Math.max(...Object.keys(f.perKind).map((k) => k.length));
  for (const [k, c] of Object.entries(f.perKind).sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${k.padEnd(w)}  ${String(c.ran).padStart(5)} ran  ${String(c.skipped).padStart(4)} no-op`);
  if (f.firstViolation) lines.push(`violation after step ${f.firstViolation.step} (${f.firstViolation.description}): [${f.firstViolation.invariant}] ${f.firstViolation.message}`);
  if (f.shrink) lines.push(`shrunk ${f.shrink.fromSteps} → ${f.shrink.toSteps} steps in ${f.shrink.trials} trials${f.shrink.exhausted ? ' (trial budget spent)' : ''}: ${f.shrink.scenario}`);
  for (const l of f.leaks) lines.push(`leaked: ${l}`);
  return `${lines.join('\n')}\n`;
}
