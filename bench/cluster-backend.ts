// Wall time of the tutorial set on the sim backend and on the cluster backend pointed at `up --bare` with the
// deployments/ DaemonSets: per scenario (the cluster backend's includes deploying and removing its agent DaemonSet).
// Prints figures; asserts nothing.
//   node --import tsx bench/cluster-backend.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../sim/paths.ts';
import { runToResult } from '../harness/runner/command.ts';
import { simBackend } from '../harness/backends/sim.ts';
import { clusterBackend } from '../harness/backends/cluster/index.ts';
import { cliFor, until } from '../harness/daemon/fixtures/cli.ts';
import { daemonPaths } from '../harness/daemon/state.ts';

const root = projectRoot();
const available = await simBackend.available();
if (!available.ok) {
  console.log(`skipped: the simulated cluster cannot run here: ${available.reason}`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'sl-bench-cluster-'));
  const cli = cliFor(join(dir, 'state'), dir);
  const rows: Array<{ backend: string; name: string; ms: number; status: string }> = [];
  const tutorial = join(root, 'scenarios/tutorial');
  try {
    const sim = await runToResult([tutorial, '--seed', '1'], [simBackend]);
    for (const s of sim.result.scenarios) rows.push({ backend: 'sim', name: s.name, ms: s.durationMs, status: s.status });

    const t0 = performance.now();
    const up = await cli(['up', '--bare', '--topology', join(root, 'harness/backends/fixtures/tutorial-cluster.yaml')]);
    if (up.code !== 0) throw new Error(`up --bare: ${up.stderr}`);
    const kubeconfig = daemonPaths(join(dir, 'state')).kubeconfig;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = KubernetesObjectApi.makeApiClient(kc);
    for (const f of ['sriovdp-configmap.yaml', 'sriovdp-daemonset.yaml', 'sriov-cni-daemonset.yaml']) {
      for (const doc of parseAllDocuments(readFileSync(join(root, 'deployments', f), 'utf8'))) await api.create(doc.toJS() as KubernetesObject);
    }
    await until('the deployments/ pods running', async () => (await api.list('v1', 'Pod')).items.filter((p) => (p as { status?: { phase?: string } }).status?.phase === 'Running').length === 2);
    const upMs = performance.now() - t0;
    const cluster = await runToResult([tutorial, '--seed', '1', '--backend', 'cluster'], [clusterBackend({ kubeconfig })]);
    for (const s of cluster.result.scenarios) rows.push({ backend: 'cluster', name: s.name, ms: s.durationMs, status: s.status });
    console.log(`up --bare with the deployments/ DaemonSets running: ${(upMs / 1000).toFixed(2)} s`);
  } finally {
    await cli(['down']);
    rmSync(dir, { recursive: true, force: true });
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log('tutorial set, per scenario:');
  for (const r of rows) console.log(`  ${r.backend.padEnd(8)} ${r.name.padEnd(w)}  ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.status}`);
  for (const b of ['sim', 'cluster']) {
    const mine = rows.filter((r) => r.backend === b);
    console.log(`${b}: ${mine.length} scenarios, ${(mine.reduce((a, r) => a + r.ms, 0) / 1000).toFixed(1)} s in scenarios`);
  }
}
