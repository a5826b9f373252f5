// A simulated node seen from inside, by unmodified programs (bash, iproute2, Debian's host-device CNI plugin).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../caps.ts';
import { defaultTopology } from '../topology/topology.ts';
import { projectRoot } from '../paths.ts';
import { startNode, newRunId, modelOptionsFor, type StartedNode } from './node.ts';

const missing = [caps.root(), caps.fuse(), caps.netns()].find((c) => !c.ok);

/** what a node of this run left behind: its namespaces, and mounts or processes under its work directory */
function leftovers(runId: string, workDir: string): string[] {
  const out: string[] = [];
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const l of ns.split('\n')) if (l.startsWith(`sl${runId}-`)) out.push(`netns ${l.split(' ')[0]}`);
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) if (l.split(' ')[1]?.startsWith(workDir)) out.push(`mount ${l.split(' ')[1]}`);
  const ps = spawnSync('pgrep', ['-af', workDir], { encoding: 'utf8' }).stdout.trim();
  for (const l of ps.split('\n')) if (l && !l.includes('pgrep')) out.push(`process ${l}`);
  return out;
}

async function withNode(f: (node: StartedNode) => Promise<void>): Promise<{ runId: string; work: string }> {
  const runId = newRunId();
  const work = mkdtempSync(join(tmpdir(), 'sl-nt-'));
  const spec = defaultTopology().nodes[0];
  const node = await startNode({ name: spec.name, runId, workDir: work, model: modelOptionsFor(spec) });
  try {
    await f(node);
  } finally {
    await node.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return { runId, work };
}

if (missing) {
  t.plan(0, `skipped: simulated nodes need ${missing.name}: ${missing.detail}`);
} else {
  t.test('inside a node: sriov_numvfs, EBUSY, vfio-pci round trip, VF netlink', async (t) => {
    const { runId, work } = await withNode(async (node) => {
      const sh = (script: string) => node.exec(['bash', '-c', script], { timeoutMs: 30_000 });
      let r = await sh('echo 4 > /sys/class/net/ens1f0/device/sriov_numvfs && ls /sys/class/net/ens1f0/device/');
      t.equal(r.exitCode, 0, r.stderr);
      t.same(r.stdout.split('\n').filter((l) => l.startsWith('virtfn')), ['virtfn0', 'virtfn1', 'virtfn2', 'virtfn3'], 'virtfn links at once');
      r = await sh('ip -br link show ens1f0v3');
      t.match(r.stdout, /^ens1f0v3/, 'a real netdev per VF in the node netns');
      r = await sh('echo 2 > /sys/class/net/ens1f0/device/sriov_numvfs');
      t.not(r.exitCode, 0);
      t.match(r.stderr, /Device or resource busy/);

      const vf = '/sys/class/net/ens1f0/device/virtfn1';
      r = await sh(`a=$(basename $(readlink ${vf})); g=$(basename $(readlink ${vf}/iommu_group));
        echo $a > /sys/bus/pci/drivers/igbvf/unbind && echo vfio-pci > ${vf}/driver_override && echo $a > /sys/bus/pci/drivers_probe
        basename $(readlink ${vf}/driver); ls ${vf}/net 2>&1 | head -1; ls /dev/vfio/$g && ip link show ens1f0v1 2>&1 | head -1`);
      const lines = r.stdout.split('\n');
      t.equal(lines[0], 'vfio-pci', 'driver is vfio-pci immediately');
      t.match(lines[1], /No such file or directory/, 'net/ is gone');
      t.match(lines[2], /^\/dev\/vfio\/\d+$/, '/dev/vfio/<group> exists');
      t.match(r.stderr + r.stdout, /does not exist/, 'the real netdev is gone too');
      r = await sh(`a=$(basename $(readlink ${vf})); echo $a > /sys/bus/pci/drivers/vfio-pci/unbind && echo > ${vf}/driver_override && echo $a > /sys/bus/pci/drivers_probe
        basename $(readlink ${vf}/driver); ls ${vf}/net; ip -br link show ens1f0v1`);
      t.match(r.stdout, /^igbvf\nens1f0v1\nens1f0v1[@ ]/, 'back on igbvf with its netdev, in sysfs and in the netns');

      r = await sh('ip link set ens1f0 vf 0 vlan 100 mac 02:00:00:00:00:01 && ip -d link show ens1f0');
      t.equal(r.exitCode, 0, r.stderr);
      t.match(r.stdout, /vf 0 +link\/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff, vlan 100,/, 'ip -d link show lists the VF settings');
      r = await sh('ip -j -d link show ens1f0');
      const j = JSON.parse(r.stdout) as Array<{ vfinfo_list?: Array<{ vf: number; address: string }> }>;
      t.match(j[0].vfinfo_list?.[0], { vf: 0, address: '02:00:00:00:00:01' }, 'vfinfo_list in JSON');
    });
    t.same(leftovers(runId, work), [], 'nothing left behind');
  });

  t.test("Debian's host-device CNI moves a VF netdev into a pod netns by pciBusID", { skip: caps.cniPlugins().ok ? false : caps.cniPlugins().detail }, async (t) => {
    await withNode(async (node) => {
      const pod = `${node.netns}-pod`;
      spawnSync('ip', ['netns', 'add', pod]);
      t.teardown(() => void spawnSync('ip', ['netns', 'del', pod]));
      await node.exec(['bash', '-c', 'echo 2 > /sys/class/net/ens1f0/device/sriov_numvfs']);
      const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'vf', type: 'host-device', pciBusID: '0000:01:10.4' });
      const cni = (cmd: string) =>
        node.exec(['/usr/lib/cni/host-device'], {
          input: conf,
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: cmd, CNI_CONTAINERID: 'c1', CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'net1', CNI_PATH: '/usr/lib/cni' },
          timeoutMs: 30_000,
        });
      let r = await cni('ADD');
      t.equal(r.exitCode, 0, `ADD: ${r.stdout}${r.stderr}`);
      t.match(JSON.parse(r.stdout), { interfaces: [{ name: 'net1' }] });
      const inPod = spawnSync('ip', ['-n', pod, '-br', 'link', 'show', 'net1'], { encoding: 'utf8' });
      t.match(inPod.stdout, /^net1[@ ]/, 'net1 is in the pod netns');
      r = await node.exec(['bash', '-c', 'ls /sys/bus/pci/devices/0000:01:10.4/; ls /sys/class/net']);
      t.notMatch(r.stdout, /ens1f0v1/, 'the node no longer sees the moved netdev in sysfs');
      r = await cni('DEL');
      t.equal(r.exitCode, 0, `DEL: ${r.stderr}`);
      r = await node.exec(['bash', '-c', 'ls /sys/bus/pci/devices/0000:01:10.4/net; ip -br link show ens1f0v1']);
      t.match(r.stdout, /^ens1f0v1\nens1f0v1[@ ]/, 'DEL returns it under its name, and sysfs follows');
    });
  });

  t.test('a VF netdev whose pod netns is deleted comes back to the node, like a physical netdev', async (t) => {
    await withNode(async (node) => {
      const pod = `${node.netns}-gone`;
      spawnSync('ip', ['netns', 'add', pod]);
      t.teardown(() => void spawnSync('ip', ['netns', 'del', pod]));
      let r = await node.exec(['bash', '-c', `echo 2 > /sys/class/net/ens1f0/device/sriov_numvfs && ip link set ens1f0v1 netns /run/netns/${pod} 2>&1 || ip link set ens1f0v1 netns ${pod}`]);
      t.equal(spawnSync('ip', ['-n', pod, 'link', 'show', 'ens1f0v1']).status, 0, 'moved into the pod netns');
      spawnSync('ip', ['netns', 'del', pod]);
      let back = '';
      for (let i = 0; i < 50 && !back.includes('ens1f0v1'); i++) {
        await new Promise((res) => setTimeout(res, 100));
        back = (await node.exec(['bash', '-c', 'ls /sys/bus/pci/devices/0000:01:10.4/net 2>/dev/null; ip -br link show ens1f0v1 2>/dev/null'])).stdout;
      }
      t.match(back, /^ens1f0v1\nens1f0v1[@ ]/, 'back in sysfs and in the node netns under its name');
      r = await node.exec(['bash', '-c', 'echo 0 > /sys/class/net/ens1f0/device/sriov_numvfs && ls /sys/class/net']);
      t.equal(r.exitCode, 0, `numvfs 0 still works: ${r.stderr}`);
      t.notMatch(r.stdout, /ens1f0v/, 'VFs gone');
    });
  });

  t.test('a PF that was up in a deleted netns comes back down, as the kernel closes a netdev it moves', async (t) => {
    await withNode(async (node) => {
      const pod = `${node.netns}-pfgone`;
      spawnSync('ip', ['netns', 'add', pod]);
      t.teardown(() => void spawnSync('ip', ['netns', 'del', pod]));
      let r = await node.exec(['bash', '-c', 'cat /sys/class/net/ens1f0/operstate']);
      t.equal(r.stdout.trim(), 'up', 'the PF starts up');
      r = await node.exec(['bash', '-c', `ip link set ens1f0 netns ${pod}`]);
      t.equal(r.exitCode, 0, r.stderr);
      t.equal(spawnSync('ip', ['-n', pod, 'link', 'set', 'ens1f0', 'up']).status, 0, 'up in the pod netns');
      spawnSync('ip', ['netns', 'del', pod]);
      let back = '';
      for (let i = 0; i < 50 && !/^ens1f0\n/.test(back); i++) {
        await new Promise((res) => setTimeout(res, 100));
        back = (await node.exec(['bash', '-c', 'ls /sys/bus/pci/devices/0000:01:00.0/net 2>/dev/null && cat /sys/class/net/ens1f0/operstate && ip -br link show ens1f0'])).stdout;
      }
      t.match(back, /^ens1f0\ndown\nens1f0\S* +DOWN /, 'back in sysfs and in the node netns under its name, admin-down and operstate down');
    });
  });

  const cli = [process.execPath, '--import', 'tsx', join(projectRoot(), 'harness/cli/main.ts')];
  // the CLI runs as a user would start it: without tap's loaders and environment
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP') && !k.startsWith('_TAP')));
  const runCli = (args: string[]) => spawn(cli[0], [...cli.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: projectRoot(), env });
  const waitFor = (p: ReturnType<typeof runCli>, re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      let buf = '';
      const on = (d: Buffer) => {
        buf += d.toString();
        if (re.test(buf)) resolve();
      };
      p.stdout!.on('data', on);
      p.stderr!.on('data', on);
      p.once('exit', () => reject(new Error(`exited before ${re}: ${buf}`)));
    });
  const exitOf = (p: ReturnType<typeof runCli>) => new Promise<number | null>((r) => (p.exitCode !== null ? r(p.exitCode) : p.once('exit', (c) => r(c))));
  // the run id and work directory the CLI announces in its progress lines
  const runIdOf = (p: ReturnType<typeof runCli>) =>
    new Promise<{ runId: string; work: string }>((resolve) => {
      let buf = '';
      p.stderr!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /namespaces sl([0-9a-z]+)-/.exec(buf);
        const w = /ready \(sysfs (\/\S+?)\/[^/]+\/sysfs\/mnt/.exec(buf);
        if (m && w) resolve({ runId: m[1], work: w[1] });
      });
    });
  const left = async (id: Promise<{ runId: string; work: string }>) => {
    const { runId, work } = await id;
    return leftovers(runId, work);
  };

  t.test('node shell cleans up after a normal exit, Ctrl-C, and a killed command', async (t) => {
    // normal exit, exit code passed through
    let p = runCli(['node', 'shell', '--', 'bash', '-c', 'exit 7']);
    let id = runIdOf(p);
    t.equal(await exitOf(p), 7, 'exit code of the command');
    t.same(await left(id), [], 'normal exit: nothing left');

    // Ctrl-C (SIGINT to the CLI)
    p = runCli(['node', 'shell', '--', 'bash', '-c', 'echo started; sleep 60']);
    id = runIdOf(p);
    await waitFor(p, /started/);
    p.kill('SIGINT');
    t.equal(await exitOf(p), 130, 'SIGINT exit status');
    t.same(await left(id), [], 'Ctrl-C: nothing left');

    // the command inside is killed
    p = runCli(['node', 'shell', '--', 'bash', '-c', 'echo started $$; sleep 60']);
    id = runIdOf(p);
    const victim = new Promise<number>((resolve) => {
      let buf = '';
      p.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /started (\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
    });
    process.kill(await victim, 'SIGKILL');
    const code = await exitOf(p);
    t.equal(code, 137, 'the CLI reports the killed command as 128+9');
    t.same(await left(id), [], 'killed command: nothing left');

    // the CLI itself is killed with SIGKILL: the sysfs server notices and removes mount and namespaces
    p = runCli(['node', 'shell', '--', 'bash', '-c', 'echo started; sleep 60']);
    id = runIdOf(p);
    await waitFor(p, /started/);
    const { runId: rid, work: wdir } = await id;
    // a pod's network namespace, as the node's runtime names it: the dead CLI made it, the server removes it too
    spawnSync('ip', ['netns', 'add', `sl${rid}-node1-0badf00d`]);
    p.kill('SIGKILL');
    await exitOf(p);
    let rest: string[] = [];
    for (let i = 0; i < 50; i++) {
      rest = leftovers(rid, wdir);
      if (rest.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.same(rest, [], 'SIGKILL of the CLI: mount, namespaces and processes removed by the orphaned server');
    spawnSync('pkill', ['-KILL', '-f', 'echo started; sleep 60']);
  });
}
