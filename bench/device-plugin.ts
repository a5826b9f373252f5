// Benchmark of the bundled device plugin with 1,024 VFs (4 × E810, 256 VFs each) on a snapshot sysfs:
// process start → Register, → first ListAndWatch with every device; Allocate latency (1,000 gRPC calls);
// sysfs change → ListAndWatch latency; the poll loop's cost per tick; resident memory.
// Run: node --import tsx bench/device-plugin.ts   (uses dist/sriov-lab-device-plugin.mjs when built, started with the
// node flags of plugins/device-plugin/node-flags.ts as the harness and the image start it)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeKubelet, SimHost, shortTmp } from '../plugins/device-plugin/test-fixtures.ts';
import { structureKey, discoverDevices, readHealth } from '../plugins/device-plugin/sysfs.ts';
import { DEVICE_PLUGIN_NODE_FLAGS } from '../plugins/device-plugin/node-flags.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist/sriov-lab-device-plugin.mjs');
const cleanups: Array<() => void | Promise<void>> = [];
const t = { teardown: (f: () => void | Promise<void>) => void cleanups.push(f) };
const RES = 'intel.com/sriov_netdevice';
const PFS = ['0000:17:00.0', '0000:3b:00.0', '0000:86:00.0', '0000:af:00.0'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const ms = (x: number) => `${x.toFixed(2)} ms`;
/** CPU time (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 10 ms) */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function main(): Promise<void> {
  const t0Fixture = performance.now();
  const host = new SimHost(
    t,
    PFS.map((pciAddr, i) => ({ model: 'intel-e810', pciAddr, ifname: `ens${i + 1}f0`, numVfs: 256, numaNode: i < 2 ? 0 : 1 })),
  );
  host.allUp();
  host.refresh();
  console.log(`fixture: 1024 VFs written in ${ms(performance.now() - t0Fixture)}`);

  // in-process cost of the pieces the poll loop runs
  const N = 20;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) structureKey(host.paths);
  const keyMs = (performance.now() - t0) / N;
  t0 = performance.now();
  const devs = discoverDevices(host.paths).devices;
  const discoverMs = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < N; i++) for (const d of devs) readHealth(host.paths, d, 'link', new Map());
  const healthMs = (performance.now() - t0) / N;

  const dir = shortTmp(t, 'dpb');
  const kubelet = new FakeKubelet(join(dir, 'k'));
  await kubelet.start();
  t.teardown(() => kubelet.stop());
  const useBundle = existsSync(bundle);
  const args = [
    '--default-config',
    '--sysfs-root', host.paths.sysfsRoot,
    '--dev-vfio-root', host.paths.devVfioRoot,
    '--proc-net-route', host.paths.procNetRoute,
    '--kubelet-dir', join(dir, 'k'),
    '--devinfo-dir', join(dir, 'di'),
    '--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn',
  ];
  const start = performance.now();
  // SRIOV_LAB_DP_TRACE: the plugin writes its start-up marks (ms since its process started) as one JSON line on stderr
  const child = spawn(process.execPath, useBundle ? [...DEVICE_PLUGIN_NODE_FLAGS, bundle, ...args] : ['--import', 'tsx', join(root, 'plugins/device-plugin/main.ts'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SRIOV_LAB_DP_TRACE: '1' },
  });
  let trace: Record<string, number> | null = null;
  let memory: Record<string, number> | null = null;
  let errBuf = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    errBuf += chunk;
    for (let i = errBuf.indexOf('\n'); i >= 0; i = errBuf.indexOf('\n')) {
      const line = errBuf.slice(0, i);
      errBuf = errBuf.slice(i + 1);
      const m = line.startsWith('{"trace":') ? (JSON.parse(line) as { trace: Record<string, number>; memory: Record<string, number> }) : null;
      if (m) {
        trace = m.trace;
        memory = m.memory;
      }
      else process.stderr.write(`${line}\n`);
    }
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await kubelet.waitFor('Register', () => kubelet.registerCalls.some((r) => r.resource_name === RES), 30000);
  const registerMs = performance.now() - start;
  await kubelet.waitFor('1024 devices', () => kubelet.allocatable(RES).length === 1024, 30000);
  const listMs = performance.now() - start;

  const ids = kubelet.allocatable(RES);
  for (let i = 0; i < 50; i++) await kubelet.allocate(RES, [[ids[i % ids.length]]]); // warm-up
  const lat: number[] = [];
  const cpu0 = cpuMs(child.pid!);
  for (let i = 0; i < 1000; i++) {
    const a = performance.now();
    await kubelet.allocate(RES, [[ids[(i * 7) % ids.length]]]);
    lat.push(performance.now() - a);
  }
  const allocCpuMs = (cpuMs(child.pid!) - cpu0) / lat.length;

  // sysfs change → ListAndWatch: one PF 256 → 0 → 256 VFs, a few times
  const change: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (const n of ['0', '256']) {
      host.model.write('/sys/class/net/ens1f0/device/sriov_numvfs', n);
      if (n !== '0') host.allUp();
      host.refresh();
      const a = performance.now();
      const want = n === '0' ? 768 : 1024;
      await kubelet.waitFor(`${want} devices`, () => kubelet.allocatable(RES).length === want, 10000);
      change.push(performance.now() - a);
    }
  }
  // link down on one PF: health only, no re-discovery
  const health: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (const up of [false, true]) {
      host.model.setLink('ens2f0', up);
      host.refresh();
      const a = performance.now();
      const want = up ? 1024 : 768;
      await kubelet.waitFor(`${want} healthy`, () => kubelet.allocatable(RES).length === want, 10000);
      health.push(performance.now() - a);
    }
  }
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  child.kill('SIGTERM');
  const stopStart = performance.now();
  await new Promise((r) => child.on('exit', r));
  const stopMs = performance.now() - stopStart;

  console.log(`plugin: ${useBundle ? 'dist bundle' : 'sources via tsx'}, 1024 VFs on 4 PFs, default config, snapshot sysfs on ${host.root.split('/').slice(0, 3).join('/')}`);
  console.log(`process start → Register:                 ${ms(registerMs)}`);
  console.log(`process start → ListAndWatch (1024 dev):   ${ms(listMs)}`);
  console.log(`Allocate (1 device, gRPC round trip) n=1000: median ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}`);
  console.log(`plugin CPU per Allocate (user + system, over the 1000 calls): ${ms(allocCpuMs)}`);
  console.log(`sriov_numvfs change → ListAndWatch:        median ${ms(pct(change, 50))}, max ${ms(Math.max(...change))} (n=${change.length})`);
  console.log(`PF link change → health in ListAndWatch:   median ${ms(pct(health, 50))}, max ${ms(Math.max(...health))} (n=${health.length})`);
  console.log(`poll tick pieces (in-process): structureKey ${ms(keyMs)}, health of 1024 ${ms(healthMs)}, full discovery ${ms(discoverMs)}`);
  if (trace) {
    // each mark's time since the process started, and the step since the mark before
    const marks = Object.entries(trace as Record<string, number>);
    console.log(`start-up marks (ms since the plugin's process started; +step): ${marks.map(([k, v], i) => `${k} ${v.toFixed(1)} (+${(v - (i ? marks[i - 1][1] : 0)).toFixed(1)})`).join(', ')}`);
  }
  console.log(`memory: RSS ${(rssKb / 1024).toFixed(1)} MiB (peak ${(hwmKb / 1024).toFixed(1)} MiB)`);
  // the last trace line is written on SIGTERM, with process.memoryUsage() then (MiB)
  if (memory) console.log(`memory at SIGTERM (process.memoryUsage, MiB): ${Object.entries(memory as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`SIGTERM → exit:                            ${ms(stopMs)}`);
  // issue 17's done-when: this run's figures beside the targets (and the issue's figures, measured idle, before)
  const rssMiB = rssKb / 1024;
  const rows: Array<[string, number, string, number, string]> = [
    ['start → Register', registerMs, 'ms', 100, '258 ms'],
    ['Allocate p99', pct(lat, 99), 'ms', 2, '3.97 ms'],
    ['sriov_numvfs change → ListAndWatch (median)', pct(change, 50), 'ms', 50, '190 ms'],
    ['RSS', rssMiB, 'MiB', 80, '113 MiB'],
  ];
  console.log(`\n${'figure'.padEnd(46)} ${'this run'.padStart(12)} ${'target'.padStart(10)}   ${'issue 17'.padStart(9)}`);
  for (const [what, v, unit, target, before] of rows) {
    console.log(`${what.padEnd(46)} ${`${v.toFixed(unit === 'MiB' ? 1 : 2)} ${unit}`.padStart(12)} ${`≤ ${target} ${unit}`.padStart(10)}   ${before.padStart(9)}   ${v <= target ? 'met' : 'NOT met'}`);
  }
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of cleanups.reverse()) await c();
  });
