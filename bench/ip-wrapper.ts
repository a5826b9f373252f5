// Cost of the ip wrapper per call (it starts once per `ip` invocation in a simulated node), next to the real ip
// and a bare `node`. Uses dist/ip-wrapper.mjs (npm run build) and the sysfs server's control socket over a kernel model.
// Run: node --import tsx bench/ip-wrapper.ts [iterations]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveControl } from '../sim/kernel/control-server.ts';
import { SysfsModel } from '../sim/kernel/model.ts';
import { ipShimScript } from '../sim/netns/ip-shim.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'ip-wrapper.mjs');
if (!existsSync(bundle)) {
  console.error(`${bundle} is missing: run npm run build first`);
  process.exit(1);
}
const n = Number(process.argv[2] ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'ipwrap-bench-'));
const sock = join(dir, 'ctl.sock');
// the wrapper only needs a PF name the real ip can show; "lo" stands in (an I350 PF of that name), so no namespace
// is needed
const model = new SysfsModel({ nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'lo', numVfs: 4 }] });
const srv = await serveControl(model, sock);
const realIp = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim();
const env = { ...process.env, SRIOV_LAB_CTL: sock, SRIOV_LAB_REAL_IP: realIp };

function runOnce(file: string, args: string[]): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ stdout, code }));
  });
}

async function measure(label: string, file: string, args: string[]): Promise<void> {
  const times: number[] = [];
  await runOnce(file, args); // warm the page cache
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await runOnce(file, args);
    times.push(performance.now() - t0);
    if (r.code !== 0) throw new Error(`${label}: exit ${r.code}`);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  console.log(`${label.padEnd(52)} median ${q(0.5).padStart(6)} ms   p90 ${q(0.9).padStart(6)} ms`);
}

const shim = join(dir, 'ip');
writeFileSync(shim, ipShimScript({ nodePath: process.execPath, wrapperPath: bundle, realIpPath: realIp }));
chmodSync(shim, 0o755);

try {
  console.log(`ip wrapper start-up, ${n} runs each (${bundle})`);
  await measure('real ip: ip link show lo', realIp, ['link', 'show', 'lo']);
  await measure('node -e 0', process.execPath, ['-e', '0']);
  await measure('wrapper, pass-through: ip route show', process.execPath, [bundle, 'route', 'show']);
  await measure('wrapper, show + pf.list + vf.list: ip -d link show lo', process.execPath, [bundle, '-d', 'link', 'show', 'lo']);
  await measure('wrapper, JSON show: ip -j -d link show lo', process.execPath, [bundle, '-j', '-d', 'link', 'show', 'lo']);
  await measure('sh shim, pass-through: ip route show', shim, ['route', 'show']);
  await measure('sh shim → wrapper: ip -d link show lo', shim, ['-d', 'link', 'show', 'lo']);
  await measure('wrapper, vf.set: ip link set lo vf 1 trust on', process.execPath, [bundle, 'link', 'set', 'lo', 'vf', '1', 'trust', 'on']);
} finally {
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
}
