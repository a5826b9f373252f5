// The node agent: the node side of a lab cluster (NodeRuntime: kubelet emulator, device plugin under test, pod
// sandboxes, CNI) on the machine it runs on — a QEMU guest for the `qemu` backend — serving the cluster brain on the
// host over node-rpc. Bundled as dist/sriov-lab-node-agent.mjs; started in the guest with the path of its config.
//
// With --stdio it is the agent of a real cluster's node instead (node-ops.ts).
//
// Besides, it names netdevs the way the topology says, as udev does on a real node: the PFs by PCI address, and VF
// netdevs `<pf>v<N>` (systemd's predictable names for SR-IOV VFs), also when a VF comes back from vfio-pci.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename } from 'node:path';
import { NodeRuntime } from '../../sim/cluster/node-runtime.ts';
import { SkewClock } from '../../sim/kubelet/index.ts';
import { execWith, spawnLocal } from '../../sim/node/exec.ts';
import { serveNodeRpc, type NodeAgentConfig, type NodeEvents } from './node-rpc.ts';
import { nodeService } from './node-service.ts';
import { serveNodeOpsOnStdio } from './node-ops.ts';

const IP = '/usr/sbin/ip';

/** the netdev of a PCI device: in its net/, or in its virtio device's (virtio-net: <pci>/virtioN/net) */
function netdevOf(pciAddr: string): string | undefined {
  const dev = `/sys/bus/pci/devices/${pciAddr}`;
  if (!existsSync(dev)) return undefined;
  const dirs = [`${dev}/net`, ...readdirSync(dev).filter((e) => /^virtio\d+$/.test(e)).map((e) => `${dev}/${e}/net`)];
  for (const d of dirs) if (existsSync(d)) return readdirSync(d)[0];
  return undefined;
}

async function ipRun(args: string[]): Promise<void> {
  const r = await execWith(spawnLocal, [IP, ...args]);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

async function rename(from: string, to: string): Promise<void> {
  if (from === to) return;
  const up = readFileSync(`/sys/class/net/${from}/flags`, 'utf8').trim();
  const wasUp = (parseInt(up, 16) & 1) === 1;
  if (wasUp) await ipRun(['link', 'set', 'dev', from, 'down']);
  await ipRun(['link', 'set', 'dev', from, 'name', to]);
  if (wasUp) await ipRun(['link', 'set', 'dev', to, 'up']);
}

/** Names the topology's PFs, and VFs <pf>v<N>; returns what it renamed. */
async function applyNames(cfg: NodeAgentConfig): Promise<string[]> {
  const done: string[] = [];
  for (const r of cfg.renames) {
    const cur = netdevOf(r.pciAddr);
    if (cur && cur !== r.ifname) {
      await rename(cur, r.ifname);
      done.push(`${cur} → ${r.ifname}`);
    }
  }
  if (!cfg.predictableVfNames) return done;
  for (const r of cfg.renames) {
    const pfDir = `/sys/bus/pci/devices/${r.pciAddr}`;
    if (!existsSync(pfDir)) continue;
    for (const e of readdirSync(pfDir)) {
      const m = /^virtfn(\d+)$/.exec(e);
      if (!m) continue;
      const vfAddr = basename(readlinkSync(`${pfDir}/${e}`));
      const cur = netdevOf(vfAddr);
      const want = `${r.ifname}v${m[1]}`;
      if (cur && cur !== want) {
        await rename(cur, want).then(
          () => done.push(`${cur} → ${want}`),
          () => undefined, // in use under its name already (moved into a pod meanwhile): left alone
        );
      }
    }
  }
  return done;
}

async function main(): Promise<void> {
  const cfgPath = process.argv[2];
  // a node of a real cluster: node operations only, over stdin/stdout (node-ops.ts)
  if (cfgPath === '--stdio') return serveNodeOpsOnStdio(process.argv.slice(3));
  if (!cfgPath) throw new Error('usage: sriov-lab-node-agent CONFIG.json | --stdio [--host-ns]');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as NodeAgentConfig;
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} node-agent ${cfg.nodeName}: ${m}\n`);

  for (const r of await applyNames(cfg)) log(`renamed ${r}`);
  // the node's PFs are up, as an administrator leaves them (and as the simulator shows them)
  for (const r of cfg.renames) await ipRun(['link', 'set', 'dev', r.ifname, 'up']).catch((e: Error) => log(e.message));
  // udev's part: new netdevs (VFs created, a VF back from vfio-pci) get their names as soon as they appear
  let naming = Promise.resolve();
  const monitor = spawn(IP, ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  monitor.stdout.on('data', () => {
    naming = naming
      .then(async () => {
        for (const r of await applyNames(cfg)) log(`renamed ${r}`);
      })
      .catch((e: Error) => {
        log(`naming: ${e.message}`);
      });
  });
  const settleNames = () => naming.then(() => applyNames(cfg)).then(() => undefined, () => undefined);

  const clock = new SkewClock();
  let notify: NodeEvents = () => undefined;
  const runtime = new NodeRuntime({
    nodeName: cfg.nodeName,
    index: cfg.index,
    machine: { hostPath: (p) => p, spawn: spawnLocal, exec: (a, o) => execWith(spawnLocal, a, o), netnsPrefix: 'pod' },
    clock,
    seed: cfg.seed,
    registrationModes: cfg.registrationModes,
    devicePluginArgv: cfg.devicePluginArgv,
    devicePluginConfig: cfg.devicePluginConfig,
    cniPlugins: cfg.cniPlugins,
    event: (e) => notify({ event: 'runtime', data: e }),
  });
  const kernelRelease = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const service = nodeService({
    runtime,
    clock,
    kernelRelease,
    exec: async (argv, o) => {
      const r = await execWith(spawnLocal, argv, { ...o, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' } });
      await settleNames(); // a sysfs write may have made netdevs: named before the next step looks
      return r;
    },
    notify: (n) => notify(n),
    shutdown: () => setImmediate(() => void stop(0)),
  });

  const server = createServer();
  notify = serveNodeRpc(server, service.handlers).notify;

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    monitor.kill();
    await runtime.stop();
    server.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(130));

  await service.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.listenHost ?? '0.0.0.0', () => resolve());
  });
  log(`ready on port ${cfg.port} (kernel ${kernelRelease})`);
}

main().catch((e: Error) => {
  process.stderr.write(`sriov-lab-node-agent: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
