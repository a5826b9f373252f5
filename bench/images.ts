// The container images of the bundled plugins (Dockerfile, `sriov-lab image build`) on a private dockerd: the cold
// build (a fresh daemon: no layer cache; the base imported from this machine's node when it cannot be pulled), the
// cached rebuild, each image's size, and the start-up cost of the CNI as the image installs it (a single executable)
// next to the way the harness runs it (node and its bundle): the wall time of one VERSION call.
// Run: npm run build && node --import tsx bench/images.ts [iterations]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../sim/paths.ts';
import { buildImages } from '../harness/images/build.ts';
import { dockerdUnavailable, startDockerd } from '../harness/images/dockerd.ts';

const why = dockerdUnavailable();
if (why) {
  console.log(`skipped: bench/images needs a private dockerd: ${why}`);
  process.exit(0);
}
const cniBundle = join(projectRoot(), 'dist', 'sriov-lab-cni.mjs');
if (!existsSync(cniBundle)) {
  console.error(`${cniBundle} is missing: run npm run build first`);
  process.exit(1);
}
const n = Number(process.argv[2] ?? 20);
const dockerd = await startDockerd();
const bin = mkdtempSync(join(tmpdir(), 'sl-bench-img-'));
try {
  const log: string[] = [];
  const cold = await buildImages({ env: dockerd.env, log: (l) => log.push(l) });
  const warm = await buildImages({ env: dockerd.env });
  console.log(`build stage base: ${cold.base.image}${cold.base.local ? ` (imported locally in ${(cold.base.ms / 1000).toFixed(1)} s)` : ''}`);
  console.log('image                           size      cold build   cached rebuild');
  for (const [i, c] of cold.images.entries()) {
    console.log(`${c.image.padEnd(32)}${`${(c.sizeBytes / 1e6).toFixed(1)} MB`.padEnd(10)}${`${(c.buildMs / 1000).toFixed(1)} s`.padEnd(13)}${(warm.images[i].buildMs / 1000).toFixed(1)} s`);
  }
  // the CNI as the image installs it
  const run = spawnSync('docker', ['run', '--rm', '--network', 'none', '-v', `${bin}:/host/opt/cni/bin`, 'sriov-lab/cni:latest', '--once'], { env: { ...process.env, ...dockerd.env }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the CNI image's install failed: ${run.stderr}`);
  const time = (argv: string[]) => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = spawnSync(argv[0], argv.slice(1), { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION' }, input: '{}', encoding: 'utf8' });
      xs.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    }
    xs.sort((a, b) => a - b);
    return `median ${xs[Math.floor(n / 2)].toFixed(1)} ms, p95 ${xs[Math.min(n - 1, Math.floor(n * 0.95))].toFixed(1)} ms`;
  };
  console.log(`CNI VERSION, single executable (installed by the image): ${time([join(bin, 'sriov')])} (${n} calls)`);
  console.log(`CNI VERSION, node and dist/sriov-lab-cni.mjs:             ${time([process.execPath, cniBundle])} (${n} calls)`);
} finally {
  rmSync(bin, { recursive: true, force: true });
  await dockerd.stop();
}
