// One VM for the whole file (TCG boots take seconds): real igb/igbvf SR-IOV, vfio-pci, VF netlink, the agent, 9p.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer, get } from 'node:http';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { resolveTopology } from '../../sim/topology/topology.ts';
import { startVm, PROJECT_DIR, VmFileError, VmExecError, type Vm } from './vm.ts';

const qemu = caps.qemu();
if (!qemu.ok) {
  t.plan(0, `skipped: QEMU with igb is needed: ${qemu.detail}`);
} else {
  const topo = resolveTopology({
    name: 'vm-test',
    nodes: [
      {
        name: 'node1',
        nics: [
          { model: 'intel-82576', pciAddr: '0000:01:00.0' },
          { model: 'intel-82576', pciAddr: '0000:02:00.0' },
          { model: 'virtio-net', pciAddr: '0000:00:05.0' },
        ],
      },
    ],
  });
  const node = topo.nodes[0];
  let vm: Vm;
  let fwdPort = 0;
  t.before(async () => {
    fwdPort = await new Promise<number>((res) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => res(p));
      });
    });
    vm = await startVm({ name: 'node1', node, channels: ['kubelet'], mgmt: { hostForwards: [{ hostPort: fwdPort, guestPort: 8080 }] } });
  });
  t.teardown(() => vm?.stop());

  const pfOf = (i: number) => vm.nics[i];
  const sys = (pci: string, attr: string) => `/sys/bus/pci/devices/${pci}/${attr}`;
  const driverOf = async (pci: string) => (await vm.sh(`basename "$(readlink ${sys(pci, 'driver')})"`)).stdout.trim();

  t.test('the topology NICs appear with their drivers, found by MAC', async (t) => {
    t.equal(vm.nics.length, 3);
    t.same(vm.nics.map((n) => n.kind), ['igb', 'igb', 'virtio-net']);
    t.same(vm.nics.map((n) => n.driver), ['igb', 'igb', 'virtio-pci']);
    t.same(vm.nics.map((n) => n.mac), node.nics.map((n) => n.mac));
    t.same(vm.nics.map((n) => n.topologyPciAddr), ['0000:01:00.0', '0000:02:00.0', '0000:00:05.0']);
    for (const n of vm.nics) t.match(n.ifname, /^eth\d$/, `${n.pciAddr} has a netdev`);
    const ids = (await vm.readFile(sys(pfOf(0).pciAddr, 'device'))).toString().trim();
    t.equal(ids, '0x10c9', 'igb is an 82576');
    t.equal((await vm.readFile(sys(pfOf(0).pciAddr, 'sriov_totalvfs'))).toString().trim(), '7');
    t.match(vm.console(), /SRIOV-LAB-BOOTED 6\./, 'console log captured');
  });

  t.test('sriov_numvfs creates igbvf VFs; changing a non-zero count is EBUSY', async (t) => {
    const pf = pfOf(0);
    await vm.writeFile(sys(pf.pciAddr, 'sriov_numvfs'), '3');
    t.equal((await vm.readFile(sys(pf.pciAddr, 'sriov_numvfs'))).toString().trim(), '3');
    const vfs = (await vm.sh(`cd ${sys(pf.pciAddr, '')} && for v in virtfn*; do echo $v $(basename $(readlink $v)) $(basename $(readlink $v/driver)) $(cat $v/device); done`)).stdout.trim().split('\n');
    t.equal(vfs.length, 3);
    for (const l of vfs) t.match(l, /^virtfn\d \S+ igbvf 0x10ca$/, l);
    const err = await vm.writeFile(sys(pf.pciAddr, 'sriov_numvfs'), '2').then(() => undefined, (e: unknown) => e);
    t.type(err, VmFileError);
    t.equal((err as VmFileError).errno, 'EBUSY');
    t.equal((err as VmFileError).op, 'write');
    const nodev = await vm.readFile('/sys/bus/pci/devices/0000:99:00.0/vendor').then(() => undefined, (e: unknown) => e);
    t.equal((nodev as VmFileError).errno, 'ENOENT');
  });

  t.test('a VF goes to vfio-pci and back to igbvf', async (t) => {
    const pf = pfOf(0);
    const vf = (await vm.sh(`basename $(readlink ${sys(pf.pciAddr, 'virtfn0')})`)).stdout.trim();
    t.ok((await vm.exec(['test', '-d', sys(vf, 'net')])).exitCode === 0, 'igbvf VF has a netdev');
    await vm.writeFile(sys(vf, 'driver/unbind'), vf);
    await vm.writeFile(sys(vf, 'driver_override'), 'vfio-pci');
    await vm.writeFile('/sys/bus/pci/drivers_probe', vf);
    t.equal(await driverOf(vf), 'vfio-pci');
    const group = (await vm.sh(`basename $(readlink ${sys(vf, 'iommu_group')})`)).stdout.trim();
    t.match(group, /^\d+$/);
    t.equal((await vm.exec(['test', '-c', `/dev/vfio/${group}`])).exitCode, 0, `/dev/vfio/${group} exists`);
    t.not((await vm.exec(['test', '-d', sys(vf, 'net')])).exitCode, 0, 'no netdev while on vfio-pci');
    await vm.writeFile(sys(vf, 'driver/unbind'), vf);
    await vm.writeFile(sys(vf, 'driver_override'), '\n');
    await vm.writeFile('/sys/bus/pci/drivers_probe', vf);
    t.equal(await driverOf(vf), 'igbvf');
  });

  t.test('VF mac, vlan, spoofchk and trust through the real igb driver', async (t) => {
    const pf = pfOf(0);
    const ip = (args: string) => vm.run(['/usr/sbin/ip', ...args.split(' ')]);
    await ip(`link set ${pf.ifname} vf 1 mac 02:aa:bb:cc:dd:01`);
    await ip(`link set ${pf.ifname} vf 1 vlan 42`);
    await ip(`link set ${pf.ifname} vf 1 spoofchk off`);
    await ip(`link set ${pf.ifname} vf 1 trust on`);
    const j = JSON.parse((await ip(`-j link show ${pf.ifname}`)).stdout) as Array<{ vfinfo_list: Array<{ vf: number; address: string; vlan_list?: Array<{ vlan: number }>; spoofchk: boolean; trust: boolean }> }>;
    const vf1 = j[0].vfinfo_list.find((v) => v.vf === 1);
    t.equal(vf1?.address, '02:aa:bb:cc:dd:01');
    t.equal(vf1?.vlan_list?.[0]?.vlan, 42);
    t.equal(vf1?.spoofchk, false);
    t.equal(vf1?.trust, true);
    const state = await vm.exec(['/usr/sbin/ip', 'link', 'set', pf.ifname, 'vf', '1', 'state', 'enable']);
    t.not(state.exitCode, 0, 'link-state is not supported by igb');
    t.match(state.stderr, /not supported/i);
    await vm.writeFile(sys(pf.pciAddr, 'sriov_numvfs'), '0');
    t.equal((await vm.sh(`ls ${sys(pf.pciAddr, '')} | grep -c virtfn`)).stdout.trim(), '0');
  });

  t.test('the host node runs in the guest (chroot over 9p), sees the guest kernel and writes the project dir', async (t) => {
    const marker = join(PROJECT_DIR, 'out', `vm-test-${process.pid}.txt`);
    t.teardown(() => rmSync(marker, { force: true }));
    const r = await vm.run(['node', '-e', 'const fs=require("fs");fs.writeFileSync(process.argv[1], require("os").release()+" "+require("os").hostname());process.stdout.write(process.version)', marker], { env: { NODE_NO_WARNINGS: '1' } });
    t.equal(r.stdout, process.version, 'the same node binary');
    t.match(readFileSync(marker, 'utf8'), /^6\.1\.\d+-\S+-amd64 node1$/, 'guest kernel and hostname, seen by the host through 9p');
    writeFileSync(marker, 'from host');
    t.equal((await vm.readFile(marker)).toString(), 'from host', 'host writes are visible in the guest (cache=mmap)');
  });

  t.test('exec: argv, env, cwd, stdin, exit codes, timeout, where', async (t) => {
    const r = await vm.exec(['sh', '-c', 'printf "%s|%s|%s|" "$1" "$FOO" "$(pwd)"; cat; echo err >&2; exit 7', 'sh', "a b 'c'"], { env: { FOO: 'x y' }, cwd: '/var/lib', input: 'in\n' });
    t.equal(r.exitCode, 7);
    t.equal(r.stdout, "a b 'c'|x y|/var/lib|in\n");
    t.equal(r.stderr, 'err\n');
    await t.rejects(vm.run(['false']), VmExecError);
    const slow = await vm.exec(['sleep', '30'], { timeoutMs: 500 });
    t.equal(slow.timedOut, true);
    t.equal(slow.exitCode, 137, 'killed by SIGKILL');
    const guest = await vm.exec(['sh', '-c', 'readlink /bin/sh'], { where: 'guest' });
    t.match(guest.stdout, /busybox/, 'guest = the initramfs');
    const paths = await vm.exec(['sh', '-c', 'test -d /var/lib/kubelet && test -d /etc/cni/net.d && test -z "$(ls /etc/cni/net.d)" && test -d /opt/cni/bin && test -d /run/netns && echo ok']);
    t.equal(paths.stdout.trim(), 'ok', 'node-standard paths exist, with no host CNI config');
    const par = await Promise.all([1, 2, 3, 4].map((i) => vm.exec(['sh', '-c', `sleep 0.$i; echo $((${i}*2))`])));
    t.same(par.map((p) => p.stdout.trim()), ['2', '4', '6', '8'], 'overlapping requests get their own replies');
    const pid = await vm.spawn(['sleep', '1000'], { logPath: '/tmp/sleep.log' });
    t.equal((await vm.exec(['kill', '-0', String(pid)])).exitCode, 0, 'spawned process runs');
    await vm.run(['kill', String(pid)]);
  });

  t.test('large and binary payloads: writeFile/readFile and exec stdin (through the shared xfer folder)', async (t) => {
    const data = randomBytes(300_000);
    await vm.writeFile('/tmp/blob', data);
    t.ok((await vm.readFile('/tmp/blob')).equals(data), 'binary file round trip');
    const sum = await vm.run(['sha256sum'], { input: data });
    t.equal(sum.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'), 'stdin arrives intact');
    t.same(readdirSync(join(vm.runDir, 'xfer')), [], 'transfer files are removed');
  });

  t.test('a channel is a byte stream between a guest device and a host unix socket', async (t) => {
    const sock = connect(vm.channelPath('kubelet'));
    t.teardown(() => sock.destroy());
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    let got = '';
    const heard = new Promise<void>((res) => sock.on('data', (d: Buffer) => ((got += d), got.includes('\n') && res())));
    // the guest answers one line: it reads ours and writes it back upper-cased
    const guest = vm.exec(['sh', '-c', 'exec 3<>/dev/virtio-ports/kubelet; read -r l <&3; echo "$l" | tr a-z A-Z >&3'], { where: 'guest', timeoutMs: 60_000 });
    for (let i = 0; i < 50 && !got; i++) {
      sock.write('ping from host\n');
      await Promise.race([heard, new Promise((r) => setTimeout(r, 200))]);
    }
    t.equal((await guest).exitCode, 0);
    t.match(got, /PING FROM HOST\n/);
  });

  t.test('the management NIC: guest → host services at 10.0.2.2, host → guest through a forwarded port', async (t) => {
    const srv = createHttpServer((_req, res) => res.end(`hello guest\n`));
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
    t.teardown(() => srv.close());
    const port = (srv.address() as AddressInfo).port;
    const r = await vm.exec(['wget', '-q', '-O', '-', `http://10.0.2.2:${port}/`], { where: 'guest', timeoutMs: 30_000 });
    t.equal(r.stdout, 'hello guest\n', `${r.stderr}`);
    t.equal((await vm.exec(['/usr/sbin/ip', '-br', 'addr', 'show', 'mgmt0'])).stdout.includes('10.0.2.15/24'), true);
    t.notOk(vm.nics.some((n) => n.ifname === 'mgmt0'), 'not a topology NIC');
    await vm.run(['sh', '-c', 'mkdir -p /tmp/www && echo hello host > /tmp/www/index.html && httpd -p 8080 -h /tmp/www'], { where: 'guest' });
    const body = await new Promise<string>((res, rej) => {
      get(`http://127.0.0.1:${fwdPort}/index.html`, (resp) => {
        let b = '';
        resp.on('data', (d: Buffer) => (b += d)).on('end', () => res(b));
      }).on('error', rej);
    });
    t.equal(body, 'hello host\n');
  });

  t.test('stop() kills QEMU and removes the run dir', async (t) => {
    const { pid, runDir } = vm;
    await vm.stop();
    t.throws(() => process.kill(pid, 0), 'QEMU is gone');
    t.notOk(existsSync(runDir), 'the run dir is removed');
    await vm.stop();
    t.pass('stop() is idempotent');
  });
}
