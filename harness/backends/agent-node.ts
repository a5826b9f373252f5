// A node whose node interface is a node agent on a real kernel (harness/node/node-agent.ts) — a QEMU guest (qemu) or
// this machine (host): reached over node-rpc, with faults and the sysfs dump done the way an operator does them there,
// with the kernel's own tools.
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { Fault } from '../backend.ts';
import type { LabNode } from '../cluster/lab-cluster.ts';
import { NodeRpcClient, type Methods, type NodeApi, type NodeEvents } from '../node/node-rpc.ts';

/** the faults a real kernel (QEMU guest, host) cannot be made to produce, and why */
export const REAL_KERNEL_CANNOT: Partial<Record<Fault['kind'], string>> = {
  sysfsFailWrites: 'needs the simulated sysfs: a real kernel cannot be told to fail or delay a write (use --backend sim)',
  sysfsDelay: 'needs the simulated sysfs: a real kernel cannot be told to fail or delay a write (use --backend sim)',
  vfAttrFail: 'needs the simulated NIC: a real driver cannot be told to refuse a VF setting (use --backend sim)',
};

/** `provides` of a real-kernel backend for a fault requirement */
export function realKernelProvidesFault(kind: Fault['kind']): { ok: true } | { ok: false; reason: string } {
  const why = REAL_KERNEL_CANNOT[kind];
  return why ? { ok: false, reason: `fault ${kind} ${why}` } : { ok: true };
}

/** what a catch collector shows of the SR-IOV devices: IDs, VF counts, drivers, netdevs */
const SYSFS_DUMP =
  'for d in /sys/bus/pci/devices/*; do [ -e $d/sriov_totalvfs ] || [ -e $d/physfn ] || continue; for f in vendor device sriov_numvfs sriov_totalvfs driver_override; do [ -f $d/$f ] && echo "$d/$f = $(cat $d/$f)"; done; [ -L $d/driver ] && echo "$d/driver -> $(readlink $d/driver)"; [ -d $d/net ] && echo "$d/net = $(ls $d/net)"; done';

/**
 * Waits for a started node agent to answer on 127.0.0.1:port; on failure the error carries the tail of its log. The
 * node it returns stops the agent (shutdown over node-rpc), then the machine with `stopMachine`.
 */
export async function connectAgent(spec: NodeSpec, port: number, timeoutMs: number, events: NodeEvents, agentLog: () => Promise<string>, stopMachine: () => Promise<void>): Promise<LabNode> {
  const { client, hello } = await NodeRpcClient.connect(spec.name, port, timeoutMs, events).catch(async (e: Error) => {
    const log = await agentLog().catch(() => '');
    throw new Error(`${e.message}\n--- node agent log ---\n${log.split('\n').slice(-20).join('\n')}`);
  });
  return agentNode(spec, client, hello, stopMachine);
}

/**
 * The node of a connected node agent (over TCP, or an exec session into a cluster's agent pod): faults and the sysfs
 * dump with the kernel's own tools, run through the agent. `stop` shuts the agent down, then runs `stopMachine`.
 */
export function agentNode(spec: NodeSpec, client: NodeApi, hello: Methods['hello']['result'], stopMachine: () => Promise<void>): LabNode {
  const sh = async (fault: Fault, cmd: string) => {
    const r = await client.call('exec', { argv: ['sh', '-c', cmd] });
    if (r.exitCode !== 0) throw new Error(`fault ${fault.kind} on ${spec.name}: ${cmd}: ${r.stderr.trim()}`);
  };
  return {
    spec,
    api: client,
    hello,
    async fault(fault) {
      switch (fault.kind) {
        case 'pfLink':
          await sh(fault, `/usr/sbin/ip link set dev ${fault.pf} ${fault.up ? 'up' : 'down'}`);
          break;
        case 'vfLink': {
          // a VF's link through the PF, as an operator forces it (igb answers "Operation not supported")
          const vfs = fault.vf === undefined ? `$(ls -d /sys/class/net/${fault.pf}/device/virtfn* | sed 's/.*virtfn//')` : String(fault.vf);
          await sh(fault, `for v in ${vfs}; do /usr/sbin/ip link set dev ${fault.pf} vf $v state ${fault.up ? 'auto' : 'disable'} || exit 1; done`);
          break;
        }
        case 'vfUnplug':
          await sh(fault, `echo 1 > /sys/bus/pci/devices/${fault.pciAddr}/remove`);
          break;
        case 'sysfsFailWrites':
        case 'sysfsDelay':
        case 'vfAttrFail':
          throw new Error(`fault ${fault.kind} ${REAL_KERNEL_CANNOT[fault.kind]}`);
        default: {
          // a new Fault kind must be handled (or refused with its reason) here: this stops compiling until it is
          const unknown: never = fault;
          throw new Error(`fault ${(unknown as Fault).kind} is not implemented on a real kernel`);
        }
      }
    },
    async sysfsDump() {
      return (await client.call('exec', { argv: ['sh', '-c', SYSFS_DUMP] })).stdout;
    },
    stop: async () => {
      await client.call('shutdown', {}, 10_000).catch(() => undefined);
      client.close();
      await stopMachine();
    },
  };
}
