// Namespaces and veths through iproute2, and a registry that leaves nothing behind.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caps } from '../caps.ts';
import { ExecError, NetnsRegistry, ip, ipBatch, listLinks, listNetns, run } from './netns.ts';

const hostLinks = (): string[] => (JSON.parse(spawnSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }).stdout) as Array<{ ifname: string }>).map((l) => l.ifname);

t.test('run() reports failures as ExecError with fields', async (t) => {
  const err = await run('sh', ['-c', 'echo out; echo oops >&2; exit 3']).catch((e: unknown) => e);
  t.type(err, ExecError);
  const e = err as ExecError;
  t.same(e.command, ['sh', '-c', 'echo out; echo oops >&2; exit 3']);
  t.equal(e.exitCode, 3);
  t.equal(e.stdout, 'out\n');
  t.equal(e.stderr, 'oops\n');
  t.ok(e.durationMs >= 0);
  t.match(e.message, /exited with status 3[\s\S]*oops/);
  const missing = (await run('/nonexistent/binary', []).catch((x: unknown) => x)) as ExecError;
  t.type(missing, ExecError);
  t.equal(missing.exitCode, null);
  t.match(missing.shortMessage, /could not be started/);
  t.equal((await run('sh', ['-c', 'cat'], { input: 'hello' })).stdout, 'hello');
});

const netns = caps.netns();
const iproute = caps.iproute2();
const skip = !netns.ok ? `needs network namespaces: ${netns.detail}` : !iproute.ok ? iproute.detail : false;

t.test('namespaces and veths are created in place and removed with their namespaces', { skip }, async (t) => {
  const reg = new NetnsRegistry();
  t.teardown(() => reg.cleanup());
  const node = reg.uniqueName('node');
  const pod = reg.uniqueName('pod');
  await reg.addNetns(node, pod);
  t.same(reg.namespaces, [node, pod].sort());
  t.ok(listNetns().includes(node) && listNetns().includes(pod), 'ip netns list shows both');

  await reg.addVeths([
    { name: 'ens1f0', netns: node, peer: 'ens1f0-p', peerNetns: node, mac: '02:00:00:00:01:00', mtu: 9000, up: true },
    { name: 'ens1f0v0', netns: node, peer: 'net1', peerNetns: pod, mac: '02:00:00:00:01:01', peerMac: '02:00:00:00:02:01', up: true, peerUp: true },
  ]);
  const nodeLinks = await reg.listLinks(node);
  const pf = nodeLinks.find((l) => l.ifname === 'ens1f0');
  t.ok(pf, 'PF stand-in in the node');
  t.equal(pf?.address, '02:00:00:00:01:00');
  t.equal(pf?.mtu, 9000);
  t.equal(pf?.linkinfo?.info_kind, 'veth');
  t.ok(pf?.flags.includes('UP'), 'brought up');
  t.equal(nodeLinks.find((l) => l.ifname === 'ens1f0-p')?.mtu, 9000, 'peer MTU follows');
  const podLinks = await listLinks(pod);
  t.same(podLinks.map((l) => l.ifname).sort(), ['lo', 'net1'], 'peer created directly in the pod namespace');
  t.equal(podLinks.find((l) => l.ifname === 'net1')?.address, '02:00:00:00:02:01');

  await reg.setLinks(node, [{ name: 'ens1f0v0', mac: '02:00:00:00:01:99', mtu: 1400, up: false, newName: 'ens1f0v9' }]);
  const renamed = (await reg.listLinks(node)).find((l) => l.ifname === 'ens1f0v9');
  t.equal(renamed?.address, '02:00:00:00:01:99');
  t.equal(renamed?.mtu, 1400);
  t.notOk(renamed?.flags.includes('UP'));

  await reg.moveLinks(node, ['ens1f0v9'], pod);
  t.ok((await reg.listLinks(pod)).some((l) => l.ifname === 'ens1f0v9'), 'moved into the pod');

  await reg.deleteLinks(pod, ['ens1f0v9']);
  t.same((await reg.listLinks(pod)).map((l) => l.ifname), ['lo'], 'deleting a veth end removes its peer too');

  await reg.cleanup();
  t.notOk(listNetns().some((n) => n === node || n === pod), 'namespaces gone');
  t.same(reg.namespaces, []);
});

t.test('links made outside the registry’s namespaces are deleted explicitly', { skip }, async (t) => {
  const reg = new NetnsRegistry();
  t.teardown(() => reg.cleanup());
  const ns = reg.uniqueName('n');
  await reg.addNetns(ns);
  const host = `slh${process.pid.toString(36)}`.slice(0, 15);
  const host2 = `slk${process.pid.toString(36)}`.slice(0, 15);
  await reg.addVeths([
    { name: host, peer: 'inside', peerNetns: ns },
    { name: host2, peer: `${host2}p` },
  ]);
  t.ok(hostLinks().includes(host) && hostLinks().includes(host2) && hostLinks().includes(`${host2}p`));
  await reg.cleanup();
  const left = hostLinks();
  t.notOk(left.includes(host), 'host end of a pair into our namespace is gone at once');
  t.notOk(left.includes(host2) || left.includes(`${host2}p`), 'a pair wholly in the host namespace is gone');
  t.notOk(listNetns().includes(ns));
});

t.test('batch failures name the failing command; partial creations are still cleaned up', { skip }, async (t) => {
  const reg = new NetnsRegistry();
  t.teardown(() => reg.cleanup());
  const a = reg.uniqueName('a');
  await reg.addNetns(a);
  const err = (await reg.addNetns(reg.uniqueName('b'), a).catch((e: unknown) => e)) as ExecError;
  t.type(err, ExecError, 'adding an existing namespace fails');
  t.equal(err.exitCode, 1);
  t.match(err.stderr, /File exists|exists/);
  t.match(err.message, new RegExp(`batch line 2: netns add ${a}`));
  const b = reg.namespaces.find((n) => n.endsWith('-b'));
  t.ok(b && listNetns().includes(b), 'the first namespace of the failed batch was made and is tracked');

  await t.rejects(reg.addVeths([{ name: 'x', netns: 'no-such-ns', peer: 'y' }]), { name: 'RangeError', message: /"no-such-ns" does not exist/ });
  await t.rejects(reg.addVeths([{ name: 'this-name-is-too-long', peer: 'y' }]), { name: 'RangeError' });
  const bad = (await reg.addVeths([{ name: 'okveth', netns: a, peer: 'okpeer', peerNetns: a }, { name: 'okveth', netns: a, peer: 'y', peerNetns: a }]).catch((e: unknown) => e)) as ExecError;
  t.type(bad, ExecError, 'a duplicate link name fails in the kernel');
  t.match(bad.message, /batch line 2: link add okveth netns \S+ type veth peer name y/);
  t.ok((await reg.listLinks(a)).some((l) => l.ifname === 'okveth'), 'the first pair was made');
  await reg.cleanup();
  t.notOk(listNetns().some((n) => n === a || n === b));
  // direct helpers
  t.equal(await ipBatch([]), null, 'an empty batch runs nothing');
  t.match((await ip(['-V'])).stdout, /iproute2/);
});

t.test('cleanupSync and exit handlers: nothing left after normal exit or Ctrl-C', { skip }, async (t) => {
  const dir = t.testdir({});
  const modUrl = new URL('./netns.ts', import.meta.url).href;
  const script = join(dir, 'child.ts');
  const fs = await import('node:fs');
  fs.writeFileSync(
    script,
    `import { NetnsRegistry } from ${JSON.stringify(modUrl)};
const reg = new NetnsRegistry();
reg.installExitHandlers();
const ns = reg.uniqueName('child');
await reg.addNetns(ns);
await reg.addVeths([{ name: 'a0', netns: ns, peer: 'b0', peerNetns: ns, up: true }]);
process.stdout.write(ns + '\\n');
if (process.argv[2] === 'wait') setInterval(() => undefined, 1000);
`,
  );
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const start = (mode: string) => spawn(process.execPath, ['--import', 'tsx', script, mode], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const firstLine = (c: ReturnType<typeof start>) =>
    new Promise<string>((resolve) => {
      let buf = '';
      c.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]);
      });
    });
  const exited = (c: ReturnType<typeof start>) => new Promise<[number | null, string | null]>((r) => c.on('exit', (code, sig) => r([code, sig])));

  const normal = start('exit');
  const [nsNormal, endNormal] = await Promise.all([firstLine(normal), exited(normal)]);
  t.same(endNormal, [0, null]);
  t.notOk(listNetns().includes(nsNormal), 'normal exit removed the namespace');

  const waiting = start('wait');
  t.teardown(() => void (waiting.exitCode === null && waiting.kill('SIGKILL')));
  const nsInt = await firstLine(waiting);
  t.ok(listNetns().includes(nsInt), 'namespace exists while the child runs');
  const ended = exited(waiting);
  waiting.kill('SIGINT');
  t.same(await ended, [null, 'SIGINT'], 'the child still dies of SIGINT');
  t.notOk(listNetns().includes(nsInt), 'Ctrl-C removed the namespace');
});
