// The simulated sysfs beside the host's real /sys, same kinds of paths, one run: per-operation latency of a read
// through a symlinked path, a readlink, a write with side effects and a readdir, and their ratio; then node start
// (topology → node ready) and VF creation through a node. Prints figures; asserts nothing.
//   node --import tsx bench/sysfs.ts [--n 3000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../sim/caps.ts';
import { startSysfsServer } from '../sim/kernel/server-process.ts';
import { startNode, newRunId } from '../sim/node/node.ts';
import { SysfsModel } from '../sim/kernel/model.ts';

// Timed from a separate process (the serving process must never touch its own mount), each operation on its own,
// so a median and a p99 per operation come out, not a batch average.
const LOOP = `
const fs = require('fs');
const [mode, path, n, value] = [process.argv[1], process.argv[2], Number(process.argv[3]), process.argv[4]];
const op = mode === 'read' ? () => fs.readFileSync(path, 'utf8')
  : mode === 'readlink' ? () => fs.readlinkSync(path)
  : mode === 'readdir' ? () => fs.readdirSync(path)
  : () => fs.writeFileSync(path, value);
for (let i = 0; i < 50; i++) op();
const t = new Float64Array(n);
for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); op(); t[i] = Number(process.hrtime.bigint() - t0) / 1000; }
t.sort();
process.stdout.write(JSON.stringify({ median: t[Math.floor(n / 2)], p99: t[Math.floor(n * 0.99)] }));
`;

interface Lat {
  median: number;
  p99: number;
}

function measure(mode: string, path: string, n: number, value = ''): Lat {
  const r = spawnSync(process.execPath, ['-e', LOOP, mode, path, String(n), value], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${mode} ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Lat;
}

const us = (x: number) => `${x.toFixed(1)} µs`;
const argN = process.argv.indexOf('--n');
const N = argN > 0 ? Number(process.argv[argN + 1]) : 3000;

function table(rows: string[][]): void {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(`  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')}`);
}

/** a PCI device of the host with a netdev, and one without, for paths of the same kinds as the simulated ones */
function hostPaths(): { pci: string; netdev?: string } | undefined {
  try {
    const devs = readdirSync('/sys/bus/pci/devices');
    if (!devs.length) return undefined;
    const netdev = readdirSync('/sys/class/net').find((n) => {
      try {
        return readFileSync(`/sys/class/net/${n}/device/vendor`, 'utf8').length > 0;
      } catch {
        return false;
      }
    });
    return { pci: devs[devs.length - 1], netdev };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  {
    const m = new SysfsModel({ nics: [{ model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens2f0' }] });
    const t0 = performance.now();
    m.write('/sys/class/net/ens2f0/device/sriov_numvfs', '256');
    m.readdir('/sys/class/net/ens2f0/device');
    console.log(`model (in process): 256 VFs in ${(performance.now() - t0).toFixed(1)} ms`);
  }
  const missing = [caps.root(), caps.fuse(), caps.netns()].find((c) => !c.ok);
  if (missing) {
    console.log(`FUSE and node figures skipped: ${missing.name}: ${missing.detail}`);
    return;
  }
  const host = hostPaths();
  const srv = await startSysfsServer({ model: { nics: [{ model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens2f0', numVfs: 4 }] } });
  try {
    const sys = `${srv.mountDir}/sys`;
    const vf = '0000:17:01.0';
    const ops: Array<{ what: string; sim: () => Lat; host?: () => Lat }> = [
      {
        what: 'read /sys/bus/pci/devices/<dev>/vendor (symlinked dir)',
        sim: () => measure('read', `${sys}/bus/pci/devices/${vf}/vendor`, N),
        host: host && (() => measure('read', `/sys/bus/pci/devices/${host.pci}/vendor`, N)),
      },
      {
        what: 'read /sys/class/net/<if>/device/vendor (two links, a netdev)',
        sim: () => measure('read', `${sys}/class/net/ens2f0/device/vendor`, N),
        host: host?.netdev ? () => measure('read', `/sys/class/net/${host.netdev}/device/vendor`, N) : undefined,
      },
      {
        what: 'readlink /sys/bus/pci/devices/<dev>',
        sim: () => measure('readlink', `${sys}/bus/pci/devices/${vf}`, N),
        host: host && (() => measure('readlink', `/sys/bus/pci/devices/${host.pci}`, N)),
      },
      {
        what: 'readdir /sys/bus/pci/devices',
        sim: () => measure('readdir', `${sys}/bus/pci/devices`, N),
        host: host && (() => measure('readdir', '/sys/bus/pci/devices', N)),
      },
      {
        // a write the kernel acts on; on the host one that changes nothing for the machine (the same value again)
        what: 'write with side effects (sim: driver_override; host: lo mtu, same value)',
        sim: () => measure('write', `${sys}/bus/pci/devices/${vf}/driver_override`, N, 'vfio-pci\n'),
        host: () => measure('write', '/sys/class/net/lo/mtu', N, readFileSync('/sys/class/net/lo/mtu', 'utf8')),
      },
      {
        what: 'write sriov_drivers_autoprobe (sim only)',
        sim: () => measure('write', `${sys}/bus/pci/devices/0000:17:00.0/sriov_drivers_autoprobe`, N, '1\n'),
      },
    ];
    console.log(`per-operation latency, ${N} each, median (p99):`);
    const rows = [['operation', 'simulated sysfs', 'host /sys', 'ratio']];
    for (const o of ops) {
      const s = o.sim();
      const h = o.host?.();
      rows.push([o.what, `${us(s.median)} (${us(s.p99)})`, h ? `${us(h.median)} (${us(h.p99)})` : '-', h ? `${(s.median / h.median).toFixed(2)}×` : '-']);
    }
    table(rows);
    // a server without the op (an older sriov-lab measured for comparison) answers EINVAL
    const st = await srv.control.request({ op: 'fuse.stats' }).catch(() => undefined);
    const d = st?.data as { requests: number; notifications: number; inodes: number; cachedFiles: number; byOp: Record<string, number>; serverUsByOp: Record<string, number> } | undefined;
    if (d) {
      console.log(`server: ${d.requests} FUSE requests, ${d.notifications} notifications, ${d.inodes} inodes known to the kernel, ${d.cachedFiles} files with cached content`);
      const per = Object.entries(d.byOp)
        .filter(([op]) => d.serverUsByOp[op])
        .map(([op, n]) => `${op} ${n} × ${(d.serverUsByOp[op] / n).toFixed(1)} µs`);
      console.log(`server time per request (arrival → reply): ${per.join(', ')}`);
    }
  } finally {
    await srv.stop();
  }

  // node start: topology → node ready (netns, sysfs server, mount namespace), the median of several
  {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const work = mkdtempSync(join(tmpdir(), 'sl-bench-'));
      const t0 = performance.now();
      const node = await startNode({ name: 'bench', runId: newRunId(), workDir: work, model: { nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 4 }] } });
      times.push(performance.now() - t0);
      await node.stop();
      rmSync(work, { recursive: true, force: true });
    }
    times.sort((a, b) => a - b);
    console.log(`node start (i350, 4 VFs), median of ${times.length}: ${times[Math.floor(times.length / 2)].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)})`);
  }

  // VF creation through the FUSE sysfs with real netdevs mirrored into the node netns
  for (const numVfs of [64, 256]) {
    const work = mkdtempSync(join(tmpdir(), 'sl-bench-'));
    const node = await startNode({ name: 'bench', runId: newRunId(), workDir: work, model: { nics: [{ model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens2f0' }] } });
    try {
      const r = await node.exec(['bash', '-c', `s=$(date +%s%N); echo ${numVfs} > /sys/class/net/ens2f0/device/sriov_numvfs; e=$(date +%s%N); n=$(ls /sys/class/net | grep -c v); l=$(ip -o link | grep -c ens2f0v); s2=$(date +%s%N); echo 0 > /sys/class/net/ens2f0/device/sriov_numvfs; e2=$(date +%s%N); echo $(( (e-s)/1000000 )) $n $l $(( (e2-s2)/1000000 ))`]);
      const [createMs, inSysfs, inNetns, removeMs] = r.stdout.trim().split(' ');
      console.log(`node: echo ${numVfs} > sriov_numvfs returned after ${createMs} ms (${inSysfs} VF netdevs in sysfs, ${inNetns} real netdevs); echo 0 took ${removeMs} ms`);
    } finally {
      await node.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }
}

await main();
