// Start-up of the sriov-lab command (the bundle an installed sriov-lab runs): wall and CPU time of commands that
// do little past loading their code, beside `node -e 0`. Every kubectl-like call (`sriov-lab get pods`, …) and
// every --help pays this. Prints medians over the runs; asserts nothing.
//   node --import tsx bench/cli-start.ts [--runs N]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../sim/paths.ts';

const bin = join(projectRoot(), 'bin/sriov-lab.js');
if (!existsSync(join(projectRoot(), 'dist/sriov-lab.mjs'))) {
  console.log('skipped: dist/ is missing (npm run build)');
  process.exit(0);
}
const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 15;

/** CPU time of this process's waited-for children so far (cutime + cstime of /proc/self/stat), ms */
function childCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // fields after "pid (comm) ": cutime and cstime are the 16th and 17th of the line, in clock ticks (100 per s)
  return (Number(f[13]) + Number(f[14])) * 10;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// a state dir with no cluster: `kubeconfig` and `get pods` load their command's code, find no daemon and exit 1
const state = mkdtempSync(join(tmpdir(), 'sl-bench-cli-'));
const cases: Array<{ label: string; argv: string[] }> = [
  { label: 'node -e 0', argv: ['-e', '0'] },
  { label: 'sriov-lab --help', argv: [bin, '--help'] },
  { label: 'sriov-lab run --help', argv: [bin, 'run', '--help'] },
  { label: 'sriov-lab kubeconfig (no cluster)', argv: [bin, 'kubeconfig'] },
  { label: 'sriov-lab get pods (no cluster)', argv: [bin, 'get', 'pods'] },
];
console.log(`sriov-lab start-up, ${runs} runs each after one warm-up, medians (CPU: 10 ms ticks):`);
console.log(`  ${'what'.padEnd(36)} ${'wall ms'.padStart(8)} ${'CPU ms'.padStart(8)}`);
try {
  for (const c of cases) {
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const cpu0 = childCpuMs();
      const t0 = performance.now();
      const p = spawnSync(process.execPath, c.argv, { env: { ...process.env, SRIOV_LAB_STATE_DIR: state }, stdio: 'ignore' });
      if (p.error) throw p.error;
      if (r === 0) continue;
      wall.push(performance.now() - t0);
      cpu.push(childCpuMs() - cpu0);
    }
    console.log(`  ${c.label.padEnd(36)} ${median(wall).toFixed(0).padStart(8)} ${median(cpu).toFixed(0).padStart(8)}`);
  }
} finally {
  rmSync(state, { recursive: true, force: true });
}
