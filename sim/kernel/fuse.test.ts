// The FUSE projection seen by ordinary processes: shell writes get the kernel's errno, side effects are immediate.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync, existsSync, realpathSync } from 'node:fs';
import { caps } from '../caps.ts';
import { startSysfsServer, isMounted } from './server-process.ts';

const fuse = caps.fuse();
if (!fuse.ok) {
  t.plan(0, `skipped: FUSE sysfs unavailable: ${fuse.detail}`);
} else {
  t.test('a mounted model behaves like sysfs for other processes', async (t) => {
    const srv = await startSysfsServer({
      model: {
        nics: [
          { model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0' },
          { model: 'virtio-net', pciAddr: '0000:00:05.0', ifname: 'eth1' },
        ],
      },
    });
    t.teardown(() => srv.stop());
    const sys = `${srv.mountDir}/sys`;
    const pf = `${sys}/class/net/ens1f0/device`;
    const sh = (script: string) => spawnSync('bash', ['-c', script], { encoding: 'utf8' });

    let r = sh(`echo 4 > ${pf}/sriov_numvfs && ls ${pf}`);
    t.equal(r.status, 0, r.stderr);
    t.same(r.stdout.split('\n').filter((l) => l.startsWith('virtfn')), ['virtfn0', 'virtfn1', 'virtfn2', 'virtfn3'], 'VFs visible at once');
    r = sh(`echo 2 > ${pf}/sriov_numvfs`);
    t.not(r.status, 0);
    t.match(r.stderr, /Device or resource busy/, 'EBUSY reaches the shell');
    r = sh(`echo 9 > ${pf}/sriov_numvfs`);
    t.match(r.stderr, /Numerical result out of range/, 'ERANGE');
    t.equal(readFileSync(`${pf}/sriov_numvfs`, 'utf8'), '4\n');
    t.throws(() => writeFileSync(`${pf}/vendor`, '0x1'), { code: 'EACCES' }, 'read-only attribute');
    t.throws(() => readFileSync(`${sys}/bus/pci/drivers/igbvf/bind`), { code: 'EACCES' }, 'write-only attribute');
    t.throws(() => readFileSync(`${sys}/bus/pci/devices/nope/vendor`), { code: 'ENOENT' });

    // rebind VF 2 to vfio-pci with driver_override + drivers_probe and back
    const vf = `${sys}/bus/pci/devices/0000:01:11.0`;
    const group = readlinkSync(`${vf}/iommu_group`).split('/').pop();
    r = sh(`echo 0000:01:11.0 > ${sys}/bus/pci/drivers/igbvf/unbind && echo vfio-pci > ${vf}/driver_override && echo 0000:01:11.0 > ${sys}/bus/pci/drivers_probe && readlink ${vf}/driver`);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /\/vfio-pci\n$/, 'readlink shows vfio-pci immediately');
    t.notOk(existsSync(`${vf}/net`), 'net/ gone');
    t.ok(existsSync(`${srv.mountDir}/dev/vfio/${group}`), '/dev/vfio/<group> present');
    r = sh(`echo 0000:01:11.0 > ${sys}/bus/pci/drivers/vfio-pci/unbind && echo > ${vf}/driver_override && echo 0000:01:11.0 > ${sys}/bus/pci/drivers_probe && ls ${vf}/net`);
    t.equal(r.stdout, 'ens1f0v2\n', 'netdev back under its name');
    t.notOk(existsSync(`${srv.mountDir}/dev/vfio/${group}`));
    t.equal(realpathSync(`${sys}/class/net/ens1f0v2/device`), realpathSync(vf));
    t.ok(readdirSync(`${sys}/bus/pci/devices`).includes('0000:00:05.0'));

    // faults through the control socket
    await srv.control.request({ op: 'fault.failWrites', path: '/sys/class/net/ens1f0/device/sriov_numvfs', errno: 'EIO', count: 1 });
    r = sh(`echo 0 > ${pf}/sriov_numvfs`);
    t.match(r.stderr, /Input\/output error/, 'injected EIO');
    r = sh(`echo 0 > ${pf}/sriov_numvfs`);
    t.equal(r.status, 0, 'next write succeeds');
    const ev = await srv.control.request({ op: 'events', since: 0 });
    t.ok(ev.events!.some((e) => e.op === 'write' && e.path.endsWith('sriov_numvfs') && e.errno === 'EBUSY'), 'the EBUSY write is in the trace');
  });

  t.test('the mount is gone after the server is killed with SIGKILL and stop() runs', async (t) => {
    const srv = await startSysfsServer({ model: { nics: [{ model: 'intel-82576', pciAddr: '0000:01:00.0', ifname: 'ens1f0' }] } }, { ownProcess: true });
    process.kill(srv.pid, 'SIGKILL');
    await srv.stop();
    t.notOk(isMounted(srv.mountDir), 'not a mountpoint any more');
    t.throws(() => process.kill(srv.pid, 0), { code: 'ESRCH' }, 'no process left');
  });
}

if (fuse.ok) {
  t.test('one server process serves the sysfs of many nodes, each on its own', async (t) => {
    const nodes = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => startSysfsServer({ model: { nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: `ens${i}f0`, numVfs: i }] } })),
    );
    t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
    t.equal(new Set(nodes.map((n) => n.pid)).size, 1, 'six nodes, one process');
    nodes.forEach((n, i) => {
      t.equal(readFileSync(`${n.mountDir}/sys/class/net/ens${i}f0/device/sriov_numvfs`, 'utf8'), `${i}\n`, `node ${i} sees its own model`);
    });
    const r = spawnSync('bash', ['-c', `echo 0 > ${nodes[3].mountDir}/sys/class/net/ens3f0/device/sriov_numvfs && echo 7 > ${nodes[3].mountDir}/sys/class/net/ens3f0/device/sriov_numvfs`], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.equal(readdirSync(`${nodes[3].mountDir}/sys/bus/pci/devices`).filter((d) => d.startsWith('0000:01:')).length, 8, 'node 3 has its PF and 7 VFs');
    t.equal(readdirSync(`${nodes[4].mountDir}/sys/bus/pci/devices`).filter((d) => d.startsWith('0000:01:')).length, 5, 'node 4 still its PF and 4 VFs');
    await nodes[2].stop();
    t.notOk(isMounted(nodes[2].mountDir), 'a stopped node is unmounted');
    t.ok(isMounted(nodes[5].mountDir), 'the others are served on');
    t.equal(readFileSync(`${nodes[5].mountDir}/sys/class/net/ens5f0/device/sriov_numvfs`, 'utf8'), '5\n');
  });
}
