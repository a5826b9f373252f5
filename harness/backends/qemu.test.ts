// `sriov-lab run --backend qemu`: the DPDK round trip, resource exhaustion and kubelet restart scenarios of the library,
// unchanged, against QEMU guests (real kernel, igb/igbvf, vfio-pci) with the kubelet emulator, the bundled device
// plugin and CNI running in the guest; the report says so; no VM or VM run directory is left behind.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { runToResult } from '../runner/command.ts';
import { qemuBackend } from './qemu.ts';

const root = projectRoot();
const SCENARIOS = ['scenarios/tutorial/sriov-dpdk.yaml', 'scenarios/tutorial/sriov-kernel.yaml', 'scenarios/restart/kubelet-restart.yaml'];

function qemuProcesses(): string[] {
  const r = spawnSync('pgrep', ['-a', '-f', 'qemu-system-x86_64'], { encoding: 'utf8' });
  // this test's VMs only (their names carry our pid): other runs may have VMs of their own on the machine
  return r.stdout.split('\n').filter((l) => l.includes('sl-vm-') && l.includes(`-${process.pid}-`));
}

const available = await qemuBackend.available();
const missingBundles = ['sriov-lab-node-agent', 'sriov-lab-cni', 'sriov-lab-device-plugin'].filter((b) => !existsSync(join(root, 'dist', `${b}.mjs`)));
if (!available.ok) {
  t.plan(0, `skipped: the qemu backend cannot run here: ${available.reason}`);
} else if (missingBundles.length) {
  t.plan(0, `skipped: dist bundles missing (${missingBundles.join(', ')}): run npm run build`);
} else {
  t.setTimeout(1_200_000);
  t.test('DPDK round trip, exhaustion and kubelet restart pass on qemu', async (t) => {
    const before = qemuProcesses();
    const vmDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('sl-vm-') && f.includes(`-${process.pid}-`));
    const dirsBefore = vmDirs();
    const { code, result, out, err } = await runToResult([...SCENARIOS.map((s) => join(root, s)), '--backend', 'qemu', '--seed', '11'], [qemuBackend], root);
    t.same(
      result.scenarios.filter((s) => s.status !== 'passed').map((s) => `${s.name}: ${s.status} ${s.skipReason ?? ''}${s.steps.flatMap((st) => st.operations).find((o) => o.error)?.error?.message ?? ''}`),
      [],
      'all three passed',
    );
    t.equal(code, 0, `exit code 0\n${out.slice(-3000)}\n${err.slice(-2000)}`);
    t.equal(result.scenarios.length, 3);
    t.equal(result.run.backend, 'qemu');
    // the plugins talked to the guest's kernel, not this host's
    t.match(result.run.kernel.release, /^\d+\.\d+\.\d+-\d+-amd64$/, `guest kernel ${result.run.kernel.release}`);

    const dpdk = result.scenarios.find((s) => s.name === 'tutorial-sriov-dpdk')!;
    const allocs = dpdk.trace.filter((e) => e.kind === 'grpc' && e.method.endsWith('/Allocate'));
    t.ok(allocs.length >= 1, 'Allocate went over real gRPC in the guest and is in the trace');
    t.match(JSON.stringify(allocs.map((a) => (a as { response?: unknown }).response)), /\/dev\/vfio\/\d+/, 'the DPDK Allocate response names the VF group, as the real IOMMU numbered it');
    const cni = dpdk.trace.filter((e) => e.kind === 'cni');
    t.ok(cni.some((e) => e.kind === 'cni' && e.plugin === 'sriov' && e.command === 'ADD' && e.exitCode === 0), 'the bundled CNI ran in the guest');

    const kernel = result.scenarios.find((s) => s.name === 'tutorial-sriov-kernel')!;
    t.ok(
      kernel.trace.some((e) => e.kind === 'scheduler' && e.result === 'unschedulable' && /Insufficient intel\.com\/sriov_netdevice/.test(e.message ?? '')),
      'the pod beyond the VFs stays Pending with the scheduler reason',
    );

    t.same(qemuProcesses(), before, 'no VM left running');
    t.same(vmDirs(), dirsBefore, 'the VMs\' run directories (console, sockets) are gone');
  });
}
