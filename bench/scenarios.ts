// Wall time of the scenario library on the sim backend: per scenario and in total. Prints figures; asserts nothing.
//   node --import tsx bench/scenarios.ts [--seed N]
import { join } from 'node:path';
import { projectRoot } from '../sim/paths.ts';
import { runToResult } from '../harness/runner/command.ts';
import { simBackend } from '../harness/backends/sim.ts';

const available = await simBackend.available();
if (!available.ok) {
  console.log(`skipped: the sim backend cannot run here: ${available.reason}`);
} else {
  const seedArg = process.argv.indexOf('--seed');
  const seed = seedArg > 0 ? process.argv[seedArg + 1] : '1';
  const t0 = performance.now();
  const { code, result: run } = await runToResult([join(projectRoot(), 'scenarios'), '--seed', seed], [simBackend]);
  const wallMs = performance.now() - t0;
  const rows = run.scenarios.map((s) => ({ name: s.name, status: s.status, ms: s.durationMs })).sort((a, b) => b.ms - a.ms);
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`scenario library on sim (seed ${seed}), slowest first:`);
  for (const r of rows) console.log(`  ${r.name.padEnd(w)}  ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.status}`);
  const sum = rows.reduce((a, r) => a + r.ms, 0);
  console.log(`total: ${rows.length} scenarios, ${(wallMs / 1000).toFixed(1)} s wall (${(sum / 1000).toFixed(1)} s in scenarios, mean ${(sum / rows.length / 1000).toFixed(2)} s); exit code ${code}`);
}
