// Admission throughput of the kubelet emulator's device manager: in-memory kubelets with in-process device
// sources (no gRPC, no files), pods of one device each admitted and released. Prints pods/s.
//   node --import tsx bench/kubelet-admit.ts [nodes=100] [devicesPerNode=64] [pods=20000]
import { Kubelet } from '../sim/kubelet/index.ts';
import type { AllocateRequest, AllocateResponse, DeviceEndpoint } from '../sim/kubelet/index.ts';

const [nodes = 100, devicesPerNode = 64, pods = 20000] = process.argv.slice(2).map(Number);
const RES = 'example.com/vf';

function endpoint(): DeviceEndpoint {
  return {
    resource: RES,
    allocate: async (req: AllocateRequest): Promise<AllocateResponse> => ({
      container_responses: req.container_requests.map((r) => ({
        envs: { PCIDEVICE_EXAMPLE_COM_VF: r.devices_ids.join(',') },
        mounts: [],
        devices: [],
        annotations: {},
        cdi_devices: [],
      })),
    }),
    getPreferredAllocation: async () => ({ container_responses: [] }),
    preStartContainer: async () => ({}),
  };
}

const kubelets: Kubelet[] = [];
for (let n = 0; n < nodes; n++) {
  const k = new Kubelet({ nodeName: `node-${n}`, rootDir: '/nonexistent', inMemory: true, seed: 1 });
  await k.start();
  k.connectInProcessPlugin(endpoint(), { pre_start_required: false, get_preferred_allocation_available: false }, Array.from({ length: devicesPerNode }, (_, i) => ({ ID: `vf${i}`, health: 'Healthy' })));
  kubelets.push(k);
}

const limits = { [RES]: '1' };
const live: string[][] = kubelets.map(() => []);
let admitted = 0;
const t0 = performance.now();
for (let i = 0; i < pods; i++) {
  const n = i % nodes;
  // keep each node at most half full: release the oldest pod once it holds devicesPerNode/2
  if (live[n].length >= devicesPerNode / 2) await kubelets[n].releasePod(live[n].shift()!);
  const uid = `pod-${i}`;
  const r = await kubelets[n].admitPod({ uid, name: uid, namespace: 'default', initContainers: [], containers: [{ name: 'c', limits, requests: limits }] });
  if (!r.admitted) throw new Error(`pod ${uid} not admitted: ${r.message}`);
  live[n].push(uid);
  admitted++;
}
const ms = performance.now() - t0;
console.log(`kubelet admission: ${nodes} nodes x ${devicesPerNode} devices, ${admitted} pods admitted (with releases) in ${ms.toFixed(0)} ms = ${Math.round((admitted / ms) * 1000)} pods/s`);
for (const k of kubelets) await k.close();
