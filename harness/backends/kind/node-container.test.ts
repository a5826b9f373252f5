// The kind backend's node-side set-up in a plain container, as in a kind node: a dockerd of the test's own, a
// container from an image imported from this machine's programs, the share directory bind-mounted with
// host-to-container propagation (as the generated kind config does), and the sim node adopting the container's
// namespaces (sim/node/node.ts adoptContainer), the sim's ip wrapper bound over the container's ip (its node and
// bundle from the share). Checked from inside the container through docker exec.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { caps } from '../../../sim/caps.ts';
import { adoptContainer, modelOptionsFor, newRunId } from '../../../sim/node/node.ts';
import { defaultTopology } from '../../../sim/topology/topology.ts';
import { KindTools } from './tools.ts';
import { modelFault } from '../sim.ts';
import { makeShared, unmakeShared, SHARE_IN_NODE } from './share.ts';
import { hostRootfsTarball, tempDir } from './test-rootfs.ts';
import { dockerdUnavailable, startDockerd } from '../../images/dockerd.ts';

const missing = [caps.root(), caps.fuse(), caps.netns()].find((c) => !c.ok);
const noDocker = dockerdUnavailable();

if (missing) t.plan(0, `skipped: the node-side set-up needs ${missing.name}: ${missing.detail}`);
else if (noDocker) t.plan(0, `skipped: ${noDocker}`);
else {
  t.test('the simulated sysfs over the container’s /sys and the VF netdevs in its network namespace', async (t) => {
    const work = tempDir('sl-kindnode-');
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const dockerd = await startDockerd();
    t.teardown(() => dockerd.stop());
    const docker = (args: string[]): string => {
      const r = spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, ...dockerd.env } });
      if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const tools = new KindTools({ env: { DOCKER_HOST: dockerd.host } });

    // the node binary's libraries, not node itself: the ip wrapper runs this machine's node, bound into the share
    const tar = hostRootfsTarball(['sh', 'mount', 'umount', 'ls', 'sort', 'mkdir', 'touch', 'ln', 'readlink', 'rmdir', 'cat', 'sleep', 'head', 'basename', 'bash', 'ip', 'rm', 'chroot', 'tail'], work, { librariesOf: [process.execPath] });
    docker(['import', tar, 'sriov-lab-test/node:1']);
    const share = join(work, 'share');
    mkdirSync(share);
    makeShared(share);
    t.teardown(() => unmakeShared(share));
    // not --privileged, as a kind node is: this machine's bounding set lacks CAP_SYS_RESOURCE, which runc then fails
    // to give; the set-up enters the container from the host with the host's capabilities, so it does not need them
    docker(['run', '-d', '--name', 'kindnode', '--network', 'none', '-v', `${share}:${SHARE_IN_NODE}:rslave`, 'sriov-lab-test/node:1', 'sleep', '100000']);
    const pid = await tools.containerPid('kindnode');
    t.ok(pid > 1, `the container's init is PID ${pid} on this host`);

    const sh = (script: string) => tools.dockerExec('kindnode', ['sh', '-c', script]);
    const before = await sh('ls /sys/bus/pci/devices; ls /sys/fs/cgroup | head -3');
    const spec = defaultTopology().nodes[0];
    const pf = spec.nics.find((n) => n.model !== 'virtio-net' && n.ifname)!;
    t.notMatch(before.stdout, pf.pciAddr, `the container's /sys starts as the kernel's, without ${pf.pciAddr}`);

    const runId = newRunId();
    const adoptLog: string[] = [];
    const node = await adoptContainer({ name: spec.name, model: modelOptionsFor(spec), runId, pid, share: { host: share, container: SHARE_IN_NODE }, log: (l) => adoptLog.push(l) });
    let stopped = false;
    t.teardown(() => (stopped ? undefined : node.stop()));

    let r = await sh('ls /sys/bus/pci/devices');
    t.equal(r.exitCode, 0, r.stderr);
    for (const nic of spec.nics) t.match(r.stdout, nic.pciAddr, `/sys/bus/pci/devices lists the topology's ${nic.model} ${nic.pciAddr}`);
    r = await sh(`echo 3 > /sys/bus/pci/devices/${pf.pciAddr}/sriov_numvfs && ls /sys/bus/pci/devices/${pf.pciAddr}/ && cat /sys/class/net/${pf.ifname}/device/sriov_numvfs`);
    t.equal(r.exitCode, 0, r.stderr);
    t.same(r.stdout.split('\n').filter((l) => l.startsWith('virtfn')), ['virtfn0', 'virtfn1', 'virtfn2'], 'a write of sriov_numvfs in the container creates the VFs at once');
    r = await sh(`for v in /sys/bus/pci/devices/${pf.pciAddr}/virtfn*; do basename $(readlink $v); done`);
    const vfs = r.stdout.split('\n').filter(Boolean);
    const all = (await sh('ls /sys/bus/pci/devices')).stdout;
    for (const v of vfs) t.match(all, v, `/sys/bus/pci/devices lists the VF ${v}`);
    t.equal(vfs.length, 3, `the VFs' PCI devices: ${vfs.join(', ')}`);
    // bash, which says what errno the write got (dash says "I/O error" for any)
    r = await tools.dockerExec('kindnode', ['bash', '-c', `echo 5 > /sys/bus/pci/devices/${pf.pciAddr}/sriov_numvfs`]);
    t.match(r.stderr, /Device or resource busy/, 'changing a non-zero VF count fails with EBUSY, as the kernel does');

    r = await sh('ip -o link show');
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stdout, new RegExp(`: ${pf.ifname}[:@]`), `ip link in the container shows the PF ${pf.ifname}`);
    const vfNames = (await sh(`ls /sys/bus/pci/devices/${pf.pciAddr}/virtfn*/net`)).stdout.split('\n').filter((l) => l && !l.includes(':'));
    t.equal(vfNames.length, 3, `each VF has a netdev: ${vfNames.join(', ')}`);
    for (const n of vfNames) t.match(r.stdout, new RegExp(`: ${n}[:@]`), `ip link in the container shows the VF netdev ${n}`);

    // VF netlink in the container: its ip is the sim's wrapper, so `ip link set PF vf N …` (what the bundled CNI runs)
    // reaches the model and `ip link show` lists the VFs, as on a sim node; also chrooted into the container's root,
    // as the thick Multus daemon runs a delegate CNI (chrootDir /hostroot, the node's /)
    r = await sh(`head -c 9 $(readlink -f $(command -v ip)); echo; ip link set ${pf.ifname} vf 0 mac 02:5a:00:00:00:01 && chroot / ip link set ${pf.ifname} vf 1 vlan 7 && ip link show ${pf.ifname}`);
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stdout, /^#!\/bin\/sh\n/, 'ip in the container is the shim');
    t.match(r.stdout, /vf 0\s+link\/ether 02:5a:00:00:00:01/, 'ip link show lists VF 0 with the MAC just set');
    t.match(r.stdout, /vf 1\s+link\/ether \S+ brd \S+, vlan 7/, 'and VF 1 with its VLAN, set from a chroot to /');
    const vf0 = ((await node.sysfs.control.request({ op: 'vf.list', pf: pf.ifname! })).vfs ?? []).find((v) => v.index === 0);
    t.equal(vf0?.mac, '02:5a:00:00:00:01', 'the model on the host has the MAC the container set');
    await modelFault(node.sysfs.control, { kind: 'vfAttrFail', pf: pf.ifname!, attr: 'trust', errno: 'EPERM' });
    r = await sh(`ip link set ${pf.ifname} vf 2 trust on`);
    t.equal(r.exitCode, 2, 'a vfAttrFail fault fails the VF setting in the container');
    t.match(r.stderr, /RTNETLINK answers: Operation not permitted/, 'with the kernel’s message');
    r = await sh('ip -o link show lo');
    t.equal(r.exitCode, 0, `other ip commands go to the real ip: ${r.stderr}`);

    r = await sh('ls /sys/fs/cgroup | head -3; ls /sys/devices');
    t.equal(r.exitCode, 0, r.stderr);
    t.ok(r.stdout.includes('system') && r.stdout.split('\n')[0] !== '', `what the model does not serve stays the kernel's (/sys/fs/cgroup, /sys/devices/system): ${r.stdout.split('\n').slice(0, 4).join(' ')}`);

    // the model's side effects come from the host's sysfs server: its control socket sees the container's writes
    const listed = await node.sysfs.control.request({ op: 'vf.list', pf: pf.ifname! });
    t.same((listed.vfs ?? []).map((v) => v.pciAddr).sort(), [...vfs].sort(), 'the sysfs server on the host holds the VFs the container made');

    // a fault the kind backend injects: the model's, through the control socket on the host, seen in the container
    await modelFault(node.sysfs.control, { kind: 'pfLink', pf: pf.ifname!, up: false });
    r = await sh(`cat /sys/class/net/${pf.ifname}/carrier; ip -o link show ${pf.ifname}`);
    t.match(r.stdout, /^0\n/, 'pfLink down: the PF has no carrier in the container’s sysfs');
    t.match(r.stdout, /NO-CARRIER|state DOWN|LOWERLAYERDOWN/, 'and its netdev in the container’s network namespace has lost carrier');

    // a reboot as the kind backend does it: the hardware off, docker restart, adopted again in the new namespaces
    await node.stop();
    await tools.dockerRestart('kindnode');
    const pid2 = await tools.containerPid('kindnode');
    t.not(pid2, pid, `after docker restart the container's init is a new PID (${pid2})`);
    const again = await adoptContainer({ name: spec.name, model: modelOptionsFor(spec), runId, pid: pid2, share: { host: share, container: SHARE_IN_NODE }, log: (l) => adoptLog.push(l) });
    r = await sh(`cat /sys/bus/pci/devices/${pf.pciAddr}/sriov_numvfs; cat /sys/class/net/${pf.ifname}/carrier; ip -o link show ${pf.ifname}`);
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stdout, /^0\n1\n/, 'the adopted-again node has the hardware as after a power cycle: no VFs, carrier up');
    t.match(r.stdout, new RegExp(`: ${pf.ifname}[:@]`), 'and the PF netdev in the new network namespace');
    await again.stop();
    stopped = true;
    r = await sh('ls /sys/bus/pci/devices; ip -o link show');
    t.notMatch(r.stdout, pf.pciAddr, 'after stop the container has its own /sys back');
    r = await sh(`head -c 4 $(readlink -f $(command -v ip)) | tail -c 3; echo; ls ${SHARE_IN_NODE}; ls /run/sriov-lab`);
    t.match(r.stdout, /^ELF\n/, `and its own ip (the node's log: ${adoptLog.filter((l) => /giving|cleanup/.test(l)).join(' | ')})`);
    t.notMatch(r.stdout, /ip-wrapper|netns-id|ip\.real|ip\.bound/, `no wrapper file is left in the share or the container: ${r.stdout.split('\n').join(' ')}`);
    t.notMatch(readFileSync('/proc/self/mountinfo', 'utf8'), `${share}/node`, 'node is no longer bound into the share');
    for (const n of vfNames) t.notMatch(r.stdout, new RegExp(`: ${n}[:@]`), `and no VF netdev ${n}`);
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    t.notMatch(ns, `sl${runId}-`, 'no network namespace name of the node is left');
    t.notMatch(readFileSync('/proc/self/mounts', 'utf8'), `${share}/sysfs`, 'no sysfs mount is left on the host');
  });
}
