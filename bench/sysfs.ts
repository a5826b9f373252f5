// FUSE sysfs throughput and VF creation time. Prints figures; asserts nothing.
//   node --import tsx bench/sysfs.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../sim/caps.ts';
import { startSysfsServer } from '../sim/kernel/server-process.ts';
import { startNode, newRunId } from '../sim/node/node.ts';
import { SysfsModel } from '../sim/kernel/model.ts';

// The FUSE mount must not be read from the process that serves it, and it is not: the server is its own process.
// Reads are timed from a separate small program so that per-operation cost is not hidden by batching.
const LOOP = `
const fs = require('fs');
const [mode, path, n] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  if (mode === 'read') fs.readFileSync(path, 'utf8');
  else if (mode === 'readlink') fs.readlinkSync(path);
  else fs.writeFileSync(path, 'vfio-pci\\n');
}
const ns = Number(process.hrtime.bigint() - t0);
process.stdout.write(String(ns));
`;

function opsPerSecond(mode: string, path: string, n: number): number {
  const r = spawnSync(process.execPath, ['-e', LOOP, mode, path, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return n / (Number(r.stdout) / 1e9);
}

function fmt(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

async function main(): Promise<void> {
  // the pure model, for reference
  {
    const m = new SysfsModel({ nics: [{ model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens2f0' }] });
    const t0 = performance.now();
    m.write('/sys/class/net/ens2f0/device/sriov_numvfs', '256');
    m.readdir('/sys/class/net/ens2f0/device');
    const t1 = performance.now();
    let reads = 0;
    const tr = performance.now();
    while (performance.now() - tr < 200) {
      m.read('/sys/bus/pci/devices/0000:17:00.0/sriov_numvfs');
      reads++;
    }
    console.log(`model (in process): 256 VFs in ${(t1 - t0).toFixed(1)} ms; ${fmt(reads / 0.2)} reads/s`);
  }
  const missing = [caps.root(), caps.fuse(), caps.netns()].find((c) => !c.ok);
  if (missing) {
    console.log(`FUSE and node figures skipped: ${missing.name}: ${missing.detail}`);
    return;
  }
  {
    const srv = await startSysfsServer({ model: { nics: [{ model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens2f0', numVfs: 1 }] } });
    try {
      const sys = `${srv.mountDir}/sys`;
      const n = 2000;
      const read = opsPerSecond('read', `${sys}/class/net/ens2f0/device/sriov_numvfs`, n);
      const readlink = opsPerSecond('readlink', `${sys}/bus/pci/devices/0000:17:00.0`, n);
      const write = opsPerSecond('write', `${sys}/bus/pci/devices/0000:17:01.0/driver_override`, n);
      console.log(`FUSE sysfs (no netdev mirror): read ${fmt(read)} ops/s, readlink ${fmt(readlink)} ops/s, write ${fmt(write)} ops/s (${n} each, path via a symlink for read)`);
    } finally {
      await srv.stop();
    }
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
