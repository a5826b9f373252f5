// Wall time of the scenario library on the sim backend, with --jobs 1 and --jobs 2 side by side (target: the whole
// library in ≤ 15 s with --jobs 2 on 2 cores). Prints figures; asserts nothing.
//   node --import tsx bench/scenarios.ts [--seed N] [--jobs A,B,…]
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../sim/paths.ts';
import { runToResult } from '../harness/runner/command.ts';
import { simBackend } from '../harness/backends/sim.ts';

// the processes a scenario starts (device plugin, CNI, ip wrapper, sysfs server) run from dist/ as an installed
// sriov-lab runs them, not from sources through tsx (which costs each start ~0.3 s of compiling and tripled the
// bundled CNI's time in a scenario); SRIOV_LAB_ENTRY=sources measures the sources
process.env.SRIOV_LAB_ENTRY ??= 'dist';

const TARGET_S = 15;
const available = await simBackend.available();
if (!available.ok) {
  console.log(`skipped: the sim backend cannot run here: ${available.reason}`);
} else {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const seed = arg('--seed') ?? '1';
  const jobsList = (arg('--jobs') ?? '1,2').split(',').map(Number);
  const figures: Array<{ jobs: number; wallS: number; count: number; failed: number; code: number }> = [];
  for (const jobs of jobsList) {
    const t0 = performance.now();
    const { code, result: run } = await runToResult([join(projectRoot(), 'scenarios'), '--seed', seed, '--jobs', String(jobs)], [simBackend]);
    const wallS = (performance.now() - t0) / 1000;
    const rows = run.scenarios.map((s) => ({ name: s.name, status: s.status, ms: s.durationMs })).sort((a, b) => b.ms - a.ms);
    const w = Math.max(...rows.map((r) => r.name.length));
    console.log(`scenario library on sim (seed ${seed}, --jobs ${jobs}), slowest first:`);
    for (const r of rows) console.log(`  ${r.name.padEnd(w)}  ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.status}`);
    const sum = rows.reduce((a, r) => a + r.ms, 0);
    console.log(`  ${rows.length} scenarios, ${wallS.toFixed(1)} s wall (${(sum / 1000).toFixed(1)} s in scenarios, mean ${(sum / rows.length / 1000).toFixed(2)} s); exit code ${code}`);
    figures.push({ jobs, wallS, count: rows.length, failed: rows.filter((r) => r.status === 'failed').length, code });
  }
  console.log(`\nlibrary wall time on ${availableParallelism()} cores (target ≤ ${TARGET_S} s with --jobs 2):`);
  for (const f of figures) {
    const mark = f.jobs === 2 ? (f.wallS <= TARGET_S ? '  meets target' : '  over target') : '';
    console.log(`  --jobs ${String(f.jobs).padEnd(3)} ${f.wallS.toFixed(1).padStart(6)} s  ${f.count} scenarios, ${f.failed} failed${mark}`);
  }
}
