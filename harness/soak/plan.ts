// The soak's step list: what it does to the cluster, drawn from a seed with the project's PRNG (sim/prng.ts), so the
// same seed, backend and topology give the same steps, and a shrunk sub-list can be run again from a fresh cluster.
// A backend draws only the steps it can give: on qemu a real kernel and QEMU's igb leave some out (stepsLeftOut).
import { mulberry32 } from '../../sim/prng.ts';
import { realKernelProvidesFault } from '../backends/agent-node.ts';

/** the backends the soak runs on */
export type SoakBackendName = 'sim' | 'qemu';

export type SoakStep =
  /** create the pod (if it exists, delete it first and create it again at once under the same name) */
  | { kind: 'podCreate'; pod: string }
  | { kind: 'podDelete'; pod: string }
  | { kind: 'kubeletRestart'; node: string }
  | { kind: 'pluginKill'; node: string }
  | { kind: 'pluginStart'; node: string }
  | { kind: 'pluginRestart'; node: string }
  | { kind: 'socketDelete'; node: string }
  /** unbind a VF from its driver and bind it again; with `errno`, the first write to the driver's bind file fails */
  | { kind: 'driverRebind'; node: string; pf: string; vf: number; errno?: string }
  /** the next IPAM ADD on the node fails */
  | { kind: 'ipamFail'; node: string }
  | { kind: 'vfFlap'; node: string; pf: string; vf: number }
  | { kind: 'pfFlap'; node: string; pf: string }
  /** sriov_numvfs to 0 and back to the topology's count, when no pod on the node has a VF attached */
  | { kind: 'vfCount'; node: string; pf: string }
  /** a running pod's network namespace vanishes (netnsRemove), then the pod is deleted: DEL without a netns */
  | { kind: 'netnsVanish'; pod: string };

export type SoakStepKind = SoakStep['kind'];

/** what the plan draws from: the nodes and, per node, its PFs and their VF counts */
export interface SoakTarget {
  nodes: Array<{ name: string; pfs: Array<{ ifname: string; numVfs: number }> }>;
  /** how many pod names churn (p0…); more than the VFs, so some pods wait for a device */
  podNames: number;
}

/** relative weights: pod churn dominates, as on a busy node; faults are rarer */
const WEIGHTS: Record<SoakStepKind, number> = {
  podCreate: 30,
  podDelete: 22,
  kubeletRestart: 4,
  pluginKill: 3,
  pluginStart: 3,
  pluginRestart: 4,
  socketDelete: 3,
  driverRebind: 4,
  ipamFail: 4,
  vfFlap: 5,
  pfFlap: 3,
  vfCount: 2,
  netnsVanish: 3,
};

const ERRNOS = ['EIO', 'EBUSY', 'ENODEV'];

/** a step (or a variant of one) a backend does not draw, and why */
export interface LeftOutStep {
  kind: SoakStepKind;
  /** only this variant of the kind is left out (the kind itself is drawn) */
  variant?: 'errno';
  reason: string;
}

function needsFault(kind: Parameters<typeof realKernelProvidesFault>[0]): string {
  const p = realKernelProvidesFault(kind);
  return p.ok ? '' : p.reason;
}

/** what the backend cannot give of the soak's steps: sim gives all; on qemu the kernel and igb are real */
export function stepsLeftOut(backend: SoakBackendName): LeftOutStep[] {
  if (backend === 'sim') return [];
  return [
    { kind: 'driverRebind', variant: 'errno', reason: `a bind that fails with an errno: ${needsFault('sysfsFailWrites')}` },
    // agent-node.ts's vfLink fault is `ip link set PF vf N state …`, which igb does not implement (ndo_set_vf_link_state)
    { kind: 'vfFlap', reason: "QEMU's igb (82576) has no VF link state: `ip link set PF vf N state disable` answers Operation not supported" },
  ].filter((l): l is LeftOutStep => l.reason !== '');
}

export function planSteps(seed: number, count: number, target: SoakTarget, backend: SoakBackendName = 'sim'): SoakStep[] {
  const leftOut = stepsLeftOut(backend);
  const weights = { ...WEIGHTS };
  for (const l of leftOut) if (!l.variant) weights[l.kind] = 0;
  const bindErrno = !leftOut.some((l) => l.kind === 'driverRebind' && l.variant === 'errno');
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const kinds = (Object.keys(weights) as SoakStepKind[]).filter((k) => weights[k] > 0);
  const total = kinds.reduce((a, k) => a + weights[k], 0);
  const withVfs = target.nodes.flatMap((n) => n.pfs.filter((p) => p.numVfs > 0).map((p) => ({ node: n.name, pf: p })));
  const steps: SoakStep[] = [];
  while (steps.length < count) {
    let r = rand() * total;
    const kind = kinds.find((k) => (r -= weights[k]) < 0) ?? 'podCreate';
    const node = pick(target.nodes).name;
    const pod = `p${Math.floor(rand() * target.podNames)}`;
    switch (kind) {
      case 'podCreate':
      case 'podDelete':
      case 'netnsVanish':
        steps.push({ kind, pod });
        break;
      case 'kubeletRestart':
      case 'pluginKill':
      case 'pluginStart':
      case 'pluginRestart':
      case 'socketDelete':
      case 'ipamFail':
        steps.push({ kind, node });
        break;
      case 'driverRebind':
      case 'vfFlap': {
        if (withVfs.length === 0) continue;
        const { node: n, pf } = pick(withVfs);
        const vf = Math.floor(rand() * pf.numVfs);
        if (kind === 'vfFlap') steps.push({ kind, node: n, pf: pf.ifname, vf });
        else steps.push(bindErrno && rand() < 0.5 ? { kind, node: n, pf: pf.ifname, vf, errno: pick(ERRNOS) } : { kind, node: n, pf: pf.ifname, vf });
        break;
      }
      case 'pfFlap':
      case 'vfCount': {
        if (withVfs.length === 0) continue;
        const { node: n, pf } = pick(withVfs);
        steps.push({ kind, node: n, pf: pf.ifname });
        break;
      }
    }
  }
  return steps;
}

/** one line for progress and reports */
export function describeStep(s: SoakStep): string {
  switch (s.kind) {
    case 'podCreate':
    case 'podDelete':
    case 'netnsVanish':
      return `${s.kind} ${s.pod}`;
    case 'driverRebind':
      return `${s.kind} ${s.node} ${s.pf} vf ${s.vf}${s.errno ? ` (bind fails once with ${s.errno})` : ''}`;
    case 'vfFlap':
      return `${s.kind} ${s.node} ${s.pf} vf ${s.vf}`;
    case 'pfFlap':
    case 'vfCount':
      return `${s.kind} ${s.node} ${s.pf}`;
    case 'ipamFail':
    case 'kubeletRestart':
    case 'pluginKill':
    case 'pluginRestart':
    case 'pluginStart':
    case 'socketDelete':
      return `${s.kind} ${s.node}`;
  }
}
