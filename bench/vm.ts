// The qemu backend's costs: guest artefact build (cold, into a fresh cache dir, and cached), QEMU start → agent
// handshake, → N VFs bound to igbvf with netdevs, a VF to vfio-pci and back, sriov_numvfs N → 0, and the host's node
// started in the guest (cold and warm); then the same scenarios' wall time on `sim` and on `qemu` side by side
// (`sriov-lab run` with the bundled plugins; qemu needs `npm run build`).
// Run: node --import tsx bench/vm.ts [--vfs N] [--keep-cold-cache] [--scenario FILE]… [--no-scenarios]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGuestArtefacts } from '../harness/qemu/artefacts.ts';
import { startVm } from '../harness/qemu/vm.ts';
import { caps } from '../sim/caps.ts';
import { projectRoot } from '../sim/paths.ts';
import { runToResult } from '../harness/runner/command.ts';
import type { BackendRunInfo } from '../harness/backend.ts';
import { simBackend } from '../harness/backends/sim.ts';
import { qemuBackend } from '../harness/backends/qemu.ts';
import type { Backend } from '../harness/backend.ts';

const { values } = parseArgs({ options: { vfs: { type: 'string' }, 'keep-cold-cache': { type: 'boolean' }, scenario: { type: 'string', multiple: true }, 'no-scenarios': { type: 'boolean' } } });
const numVfs = Number(values.vfs ?? 4);
const q = caps.qemu();
if (!q.ok) {
  // a machine without QEMU has nothing to measure here: skipped, like every benchmark whose requirement is missing
  console.log(`skipped: bench/vm needs QEMU with igb: ${q.detail}`);
  process.exit(0);
}
const rows: Array<[string, string]> = [];
const ms = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
const time = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await f();
  rows.push([label, ms(performance.now() - t0)]);
  return r;
};

const coldDir = mkdtempSync(join(tmpdir(), 'sl-bench-vm-cache-'));
try {
  await time('artefacts: cold build (download, unpack, initramfs, vmlinux)', () => buildGuestArtefacts({ cacheDir: coldDir }));
  await time('artefacts: cached (inputs from the memo, cache hit)', () => buildGuestArtefacts({ cacheDir: coldDir }));
} finally {
  if (!values['keep-cold-cache']) rmSync(coldDir, { recursive: true, force: true });
}
const artefacts = await buildGuestArtefacts();
const t0 = performance.now();
await using vm = await startVm({ name: 'bench', artefacts, nics: [{ kind: 'igb', mac: '02:00:00:be:00:00' }] });
rows.push([`QEMU start → agent handshake (${vm.accel})`, ms(vm.bootMs)]);
rows.push(['QEMU start → NICs discovered (startVm returns)', ms(performance.now() - t0)]);
const pf = vm.nics[0].pciAddr;
const sys = (a: string): string => `/sys/bus/pci/devices/${pf}/${a}`;
const vfsReady = `for i in $(seq 0 $((${numVfs}-1))); do until [ -e ${sys('virtfn')}$i/driver ] && [ "$(basename $(readlink ${sys('virtfn')}$i/driver))" = igbvf ] && [ -n "$(ls ${sys('virtfn')}$i/net 2>/dev/null)" ]; do usleep 10000; done; done`;
await time(`sriov_numvfs 0 → ${numVfs}, until every VF has igbvf and a netdev`, async () => {
  await vm.writeFile(sys('sriov_numvfs'), String(numVfs));
  await vm.run(['sh', '-c', vfsReady], { where: 'guest' });
});
rows.push([`QEMU start → ${numVfs} VFs ready`, ms(performance.now() - t0)]);
const vf = (await vm.run(['sh', '-c', `basename $(readlink ${sys('virtfn0')})`], { where: 'guest' })).stdout.trim();
const d = (a: string): string => `/sys/bus/pci/devices/${vf}/${a}`;
await time('VF → vfio-pci (unbind, driver_override, drivers_probe)', async () => {
  await vm.run(['sh', '-e', '-c', `echo ${vf} > ${d('driver/unbind')}; echo vfio-pci > ${d('driver_override')}; echo ${vf} > /sys/bus/pci/drivers_probe`], { where: 'guest' });
});
await time('VF → igbvf again', async () => {
  await vm.run(['sh', '-e', '-c', `echo ${vf} > ${d('driver/unbind')}; echo > ${d('driver_override')}; echo ${vf} > /sys/bus/pci/drivers_probe`], { where: 'guest' });
});
await time(`sriov_numvfs ${numVfs} → 0`, () => vm.writeFile(sys('sriov_numvfs'), '0'));
await time('agent round trip: exec true (busybox, initramfs)', () => vm.run(['true'], { where: 'guest' }));
await time('agent round trip: exec true (chroot, host /usr)', () => vm.run(['true']));
await time('agent: readFile of a sysfs attribute', () => vm.readFile(sys('vendor')));
await time("host's node in the guest: node -e 1 (cold)", () => vm.run(['node', '-e', '1']));
await time("host's node in the guest: node -e 1 (warm)", () => vm.run(['node', '-e', '1']));
await vm.stop();

const w = Math.max(...rows.map(([l]) => l.length));
console.log(`bench/vm (${vm.accel}, load average ${loadavg()[0].toFixed(1)} on this machine)`);
for (const [l, v] of rows) console.log(`  ${l.padEnd(w)}  ${v.padStart(9)}`);

// ---- the same scenarios on sim and on qemu ----------------------------------------------------------------------
if (!values['no-scenarios']) {
  const files = values.scenario ?? ['scenarios/tutorial/sriov-dpdk.yaml', 'scenarios/tutorial/sriov-kernel.yaml', 'scenarios/restart/kubelet-restart.yaml'];
  const wall = async (b: Backend & BackendRunInfo): Promise<Map<string, { ms: number; status: string }>> => {
    const { result } = await runToResult([...files.map((f) => join(projectRoot(), f)), '--backend', b.name, '--seed', '1'], [b]);
    return new Map(result.scenarios.map((sc) => [sc.name, { ms: sc.durationMs, status: sc.status }]));
  };
  const sim = await wall(simBackend);
  const qemu = await wall(qemuBackend);
  const names = [...new Set([...sim.keys(), ...qemu.keys()])];
  const nw = Math.max(8, ...names.map((n) => n.length));
  console.log(`\nscenario wall time, sim vs qemu (${vm.accel}; qemu includes booting its VMs and starting the node agents)`);
  console.log(`  ${'scenario'.padEnd(nw)}  ${'sim'.padStart(9)}  ${'qemu'.padStart(9)}  ratio`);
  for (const n of names) {
    const a = sim.get(n);
    const b = qemu.get(n);
    const cell = (r?: { ms: number; status: string }) => (r ? `${ms(r.ms)}${r.status === 'passed' ? '' : ` ${r.status}`}` : '-');
    console.log(`  ${n.padEnd(nw)}  ${cell(a).padStart(9)}  ${cell(b).padStart(9)}  ${a && b ? `${(b.ms / a.ms).toFixed(1)}×` : ''}`);
  }
}
