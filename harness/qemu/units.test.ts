// The parts of the qemu backend that need no QEMU: the initramfs archive, the QEMU command line, the topology → NIC
// mapping, errno names from guest messages, module dependencies and the exit-hook registry.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { resolveTopology } from '../../sim/topology/topology.ts';
import { readCpio, writeCpio } from './cpio.ts';
import { errnoFromMessage } from '../node/errno.ts';
import { moduleDepends, pruneCache } from './artefacts.ts';
import { guestConfig, mirrorPlacement, nicsOfNode, qemuArgs, shQuote, type QemuPlan } from './vm.ts';

t.test('cpio newc: what is written reads back, padded to 4 bytes, with a trailer', async (t) => {
  const buf = writeCpio([
    { kind: 'dir', path: 'etc' },
    { kind: 'file', path: '/etc/a', data: Buffer.from('hello'), mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  ]);
  t.equal(buf.length % 4, 0);
  t.match(buf.subarray(buf.length - 140).toString('latin1'), /TRAILER!!!/);
  const back = readCpio(buf);
  t.same(back.map((e) => [e.path, (e.mode >> 12).toString(8), e.data.toString()]), [
    ['etc', '4', ''],
    ['etc/a', '10', 'hello'],
    ['bin/sh', '12', 'busybox'],
    ['dev/console', '2', ''],
  ]);
  t.equal(back[1].mode & 0o777, 0o755);
});

const plan: QemuPlan = {
  name: 'node1',
  accel: 'tcg',
  cpus: 2,
  memoryMiB: 1024,
  vmlinux: '/c/vmlinux',
  initramfs: '/c/initramfs.cpio',
  runDir: '/r',
  nics: [
    { kind: 'igb', mac: '02:00:00:00:00:01' },
    { kind: 'virtio-net', mac: '02:00:00:00:00:02' },
  ],
  shares: [
    { tag: 'usr', hostPath: '/usr', guestPath: '/usr', readOnly: true },
    { tag: 'project', hostPath: "/w/it's", guestPath: "/w/it's", readOnly: false },
  ],
  channels: ['kubelet'],
};

t.test('QEMU command line: q35 split irqchip, the IOMMU before every PCI device, one root port per NIC', async (t) => {
  const a = qemuArgs(plan);
  const devs = a.flatMap((x, i) => (a[i - 1] === '-device' ? [x] : []));
  t.equal(devs[0], 'intel-iommu,intremap=on,caching-mode=on', 'the IOMMU is the first device');
  t.ok(a.includes('q35,kernel-irqchip=split'));
  t.equal(a[a.indexOf('-accel') + 1], 'tcg,thread=single');
  t.same(devs.filter((d) => d.startsWith('pcie-root-port')).length, 2);
  t.ok(devs.includes('igb,bus=rp0,netdev=n0,mac=02:00:00:00:00:01'));
  t.ok(devs.includes('virtio-net-pci,bus=rp1,netdev=n1,mac=02:00:00:00:00:02,disable-legacy=off'));
  t.ok(devs.some((d) => d === 'virtserialport,bus=vser.0,chardev=ch0,name=kubelet'), 'extra channel');
  t.ok(a.includes('local,id=fs0,path=/usr,security_model=none,readonly=on'));
  const append = a[a.indexOf('-append') + 1];
  t.match(append, /intel_iommu=on/);
  const cfg = Buffer.from(/sl_cfg=(\S+)/.exec(append)![1], 'base64').toString();
  t.equal(cfg, guestConfig(plan));
  t.match(cfg, /SL_HOSTNAME=node1\n/);
  t.match(cfg, /project \/w\/it'\\''s rw mmap/, 'paths are shell-quoted; rw shares use cache=mmap');
  t.equal(qemuArgs({ ...plan, accel: 'kvm' })[qemuArgs({ ...plan, accel: 'kvm' }).indexOf('-cpu') + 1], 'host');
  t.notOk(qemuArgs(plan, { probe: true }).includes('-fsdev'), 'the KVM probe shares nothing');
});

t.test('topology nodes: SR-IOV models become igb, virtio stays virtio, the rest is refused', async (t) => {
  const topo = resolveTopology({
    nodes: [
      { name: 'a', nics: [{ model: 'intel-i350', pciAddr: '0000:3b:00.0' }, { model: 'virtio-net', pciAddr: '0000:00:05.0' }] },
    ],
  });
  const nics = nicsOfNode(topo.nodes[0]);
  t.same(nics.map((n) => [n.kind, n.topologyPciAddr, n.mac]), [
    ['igb', '0000:3b:00.0', topo.nodes[0].nics[0].mac],
    ['virtio-net', '0000:00:05.0', topo.nodes[0].nics[1].mac],
  ]);
});

t.test('errno names from guest messages', async (t) => {
  const cases: Array<[string, string]> = [
    ['cat: write error: Device or resource busy', 'EBUSY'],
    ['sh: can\'t create /sys/x: No such file or directory', 'ENOENT'],
    ['cat: write error: No such device or address', 'ENXIO'],
    ['cat: write error: No such device', 'ENODEV'],
    ['cat: write error: Invalid argument', 'EINVAL'],
    ['RTNETLINK answers: Operation not supported', 'EOPNOTSUPP'],
    ['something odd', 'EIO'],
  ];
  for (const [m, e] of cases) t.equal(errnoFromMessage(m), e, m);
});

t.test('shQuote round-trips through /bin/sh', async (t) => {
  const words = ['plain', 'a b', "it's", '$HOME', '`x`', '"q"', '', 'a\nb'];
  const out = await new Promise<string>((res) => {
    const p = spawn('/bin/sh', ['-c', `printf '%s\\0' ${words.map(shQuote).join(' ')}`]);
    let s = '';
    p.stdout.on('data', (d: Buffer) => (s += d));
    p.on('close', () => res(s));
  });
  t.same(out.split('\0').slice(0, -1), words);
});

t.test('module depends= from .modinfo', async (t) => {
  const ko = Buffer.concat([Buffer.from('\x7fELF....'), Buffer.from('\0license=GPL\0depends=vfio,vfio_pci_core,irqbypass\0vermagic=6.1\0')]);
  t.same(moduleDepends(ko), ['vfio', 'vfio_pci_core', 'irqbypass']);
  t.same(moduleDepends(Buffer.from('\0depends=\0')), []);
  t.same(moduleDepends(Buffer.from('nothing')), []);
});

t.test('exit hooks run on SIGINT and SIGTERM; the process still dies of the signal', async (t) => {
  const hooks = fileURLToPath(new URL('../exit-hooks.ts', import.meta.url));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const code = `import { addExitHook } from ${JSON.stringify(hooks)};
      addExitHook({ name: 'a', async: async () => { await new Promise((r) => setTimeout(r, 50)); process.stdout.write('async-a '); }, sync: () => process.stdout.write('sync-a ') });
      const off = addExitHook({ name: 'b', sync: () => process.stdout.write('never ') });
      off();
      addExitHook({ name: 'c', async: async () => { throw new Error('boom'); } });
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);`;
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d));
    await new Promise<void>((res) => p.stdout.on('data', (d: Buffer) => ((out += d), out.includes('ready') && res())));
    p.kill(sig);
    const [code2, signal] = await new Promise<[number | null, string | null]>((res) => p.on('exit', (c, s) => res([c, s])));
    t.same([code2, signal], [null, sig]);
    t.equal(out, 'ready\nasync-a sync-a ', `${sig}: async hooks, then sync hooks; removed hooks do not run`);
    t.match(err, /cleanup "c" failed: boom/, 'a failing hook is reported and the others still run');
  }
});

t.test('pruneCache keeps the current build and the newest other one, and drops stale half-written builds', async (t) => {
  const dir = t.testdir({ vm: { a: {}, b: {}, c: {}, cur: {}, '.x-123': {}, '.y-456': {} } });
  const age = (d: string, s: number): void => utimesSync(join(dir, 'vm', d), new Date(Date.now() - s * 1000), new Date(Date.now() - s * 1000));
  age('a', 300);
  age('b', 100);
  age('c', 200);
  age('cur', 1000);
  age('.x-123', 7200);
  age('.y-456', 10);
  t.same(pruneCache(dir, 'cur').sort(), ['.x-123', 'a', 'c']);
  t.same(readdirSync(join(dir, 'vm')).sort(), ['.y-456', 'b', 'cur']);
});

t.test('NICs mirror the topology: bus-0 slots and functions, root ports numbered like the buses', async (t) => {
  const nic = (topologyPciAddr: string, kind: 'igb' | 'virtio-net' = 'igb') => ({ kind, mac: '02:00:00:00:00:09', topologyPciAddr });
  const m = mirrorPlacement([nic('0000:01:00.0'), nic('0000:03:00.0'), nic('0000:00:05.0', 'virtio-net'), nic('0000:00:06.0', 'virtio-net'), nic('0000:00:06.1', 'virtio-net')]);
  t.ok(m, 'mirrored');
  t.same(m!.rootPorts.map((r) => r.id), ['rp1', 'rp2', 'rp3'], 'an empty root port stands for bus 02, which the topology skips');
  t.same(m!.nics, [
    { bus: 'rp1', addr: '0.0', multifunction: false },
    { bus: 'rp3', addr: '0.0', multifunction: false },
    { bus: 'pcie.0', addr: '5.0', multifunction: false },
    { bus: 'pcie.0', addr: '6.0', multifunction: true },
    { bus: 'pcie.0', addr: '6.1', multifunction: false },
  ]);
  t.equal(mirrorPlacement([nic('0000:01:00.0'), nic('0000:01:00.1')]), null, 'a dual-port igb behind a root port: its function 1 would stay invisible (ARI)');
  t.equal(mirrorPlacement([nic('0000:3b:00.0')]), null, 'bus 0x3b: not mirrored (one root port per bus would take 59)');
  t.equal(mirrorPlacement([nic('0000:01:02.0')]), null, 'a PCIe link has device 0 only');
  t.equal(mirrorPlacement([nic('0000:01:00.1')]), null, 'function 1 without function 0 is not enumerated');
  t.equal(mirrorPlacement([nic('0000:00:18.0')]), null, 'a slot the harness uses');
  t.equal(mirrorPlacement([{ kind: 'igb', mac: '02:00:00:00:00:01' }]), null, 'no topology address');
  const a = qemuArgs({ ...plan, nics: [nic('0000:01:00.0'), nic('0000:02:00.0')], mgmt: { hostForwards: [] } });
  const devs = a.flatMap((x, i) => (a[i - 1] === '-device' ? [x] : []));
  t.ok(devs.indexOf('pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=10.0') < devs.findIndex((d) => d.startsWith('igb,')), 'the root port before its devices');
  t.ok(devs.includes('igb,bus=rp1,addr=0.0,netdev=n0,mac=02:00:00:00:00:09'));
  t.ok(devs.includes('igb,bus=rp2,addr=0.0,netdev=n1,mac=02:00:00:00:00:09'));
  t.ok(devs.includes('virtio-serial-pci,id=vser,addr=18.0'), 'the agent port at its fixed slot');
  t.ok(devs.some((d) => d.startsWith('virtio-9p-pci,fsdev=fs0,') && d.endsWith(',addr=19.0')));
  t.ok(devs.some((d) => d.startsWith('virtio-net-pci,netdev=mgmt,') && d.includes('addr=1e.0')));
});
