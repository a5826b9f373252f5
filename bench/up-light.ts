// `up` of a large cluster: 1,000 lightweight nodes × 64 VFs (scenarios/topologies/large-1000.yaml). First in this
// process the way the daemon of `sriov-lab up` does it — the cluster assembly with the sim provider, then its
// Kubernetes API — with 1,000 pods (one VF each) scheduled onto the nodes and Running; then the real command
// (`sriov-lab up --topology …` until it returns with the cluster ready, then `down`; needs `npm run build`), with the
// daemon's peak RSS. Prints wall times and RSS. Run: node --import tsx bench/up-light.ts [topology file]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { LabCluster } from '../harness/cluster/lab-cluster.ts';
import { SimNodeProvider, simProviderOptions } from '../harness/backends/sim.ts';
import type { BackendUpOptions } from '../harness/backend.ts';
import { loadTopology } from '../sim/topology/topology.ts';
import { projectRoot } from '../sim/paths.ts';

const file = process.argv[2] ?? join(projectRoot(), 'scenarios/topologies/large-1000.yaml');
const RES = 'intel.com/sriov_netdevice';
const topology = loadTopology(file);
const workDir = mkdtempSync(join(tmpdir(), 'sriov-lab-bench-up-'));
const opts: BackendUpOptions = { topology, seed: 42, workDir, devicePlugin: {}, trace: () => undefined };
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const lc = await LabCluster.start(new SimNodeProvider(simProviderOptions(opts)), opts);
const t1 = performance.now();
const api = await lc.serveApi();
const t2 = performance.now();
try {
  const nodes = lc.cluster.store.list('Node');
  const vfs = nodes.reduce((n, node) => n + Number(node.status?.allocatable?.[RES] ?? 0), 0);
  console.log(`topology ${topology.name}: ${nodes.length} nodes (${lc.lightNodes.size} lightweight), ${vfs} VFs allocatable as ${RES}`);
  console.log(`up: nodes ${(t1 - t0).toFixed(0)} ms + API server ${(t2 - t1).toFixed(0)} ms = ${(t2 - t0).toFixed(0)} ms wall`);
  console.log(`RSS: ${mib(process.memoryUsage().rss)} after up (${mib(rss0)} before), peak ${mib(peakRss())}`);
  const pods = Math.min(1000, nodes.length);
  const t3 = performance.now();
  for (let i = 0; i < pods; i++) {
    const pod: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { [RES]: '1' } } }] } };
    lc.cluster.createPod(pod);
  }
  await lc.settle();
  const t4 = performance.now();
  const running = lc.cluster.store.list('Pod').filter((p) => p.status?.phase === 'Running').length;
  console.log(`${pods} pods (1 VF each): ${running} Running in ${(t4 - t3).toFixed(0)} ms`);
  console.log(`RSS peak ${mib(peakRss())}; API at ${api.url}`);
  if (running !== pods || nodes.length !== topology.nodes.length) process.exitCode = 1;
} finally {
  const t5 = performance.now();
  await lc.stop();
  console.log(`down: ${(performance.now() - t5).toFixed(0)} ms`);
  rmSync(workDir, { recursive: true, force: true });
}

// the real command line, with the daemon's memory
const cli = join(projectRoot(), 'bin/sriov-lab.js');
if (!existsSync(join(projectRoot(), 'dist/sriov-lab.mjs'))) {
  console.log('sriov-lab up: skipped (dist/ is missing: npm run build)');
} else {
  const stateDir = mkdtempSync(join(tmpdir(), 'sriov-lab-bench-state-'));
  const env = { ...process.env, SRIOV_LAB_STATE_DIR: stateDir };
  try {
    const c0 = performance.now();
    execFileSync(process.execPath, [cli, 'up', '--topology', file], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const c1 = performance.now();
    const { pid } = JSON.parse(readFileSync(join(stateDir, 'daemon.json'), 'utf8')) as { pid: number };
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const nodes = execFileSync(process.execPath, [cli, 'get', 'nodes'], { env, encoding: 'utf8' }).trim().split('\n').length - 1;
    console.log(`sriov-lab up --topology ${topology.name}: ${((c1 - c0) / 1000).toFixed(2)} s wall until ready (CLI start included), ${nodes} nodes listed; daemon RSS ${mib(kib('VmRSS'))}, peak ${mib(kib('VmHWM'))}`);
  } finally {
    try {
      execFileSync(process.execPath, [cli, 'down'], { env, stdio: 'ignore' });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
}
