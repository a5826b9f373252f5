// A simulated node: a network namespace + a mount namespace (held by a small holder process) in which /sys is the
// FUSE sysfs of the node's kernel model, /dev/vfio follows vfio-pci binding, and /run, /var/lib/kubelet,
// /var/lib/cni, /etc/cni, /etc/pcidp and /opt/cni are private to the node. Any program started with node.spawn()
// sees the node as its machine, unmodified.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ModelOptions } from '../kernel/model.ts';
import { startSysfsServer, type StartedSysfsServer } from '../kernel/server-process.ts';
import { entryCommand, projectRoot } from '../paths.ts';
import { ipShimScript } from '../netns/ip-shim.ts';
import { ip } from './mirror.ts';
import { execWith, type ExecOutcome } from './exec.ts';
import { phaseStart, timed } from '../phases.ts';

export interface NodeOptions {
  /** node name, e.g. "node1" (also the hostname inside the node) */
  name: string;
  model: ModelOptions;
  /** a short id unique to this run, used in namespace names */
  runId: string;
  /** where the node's private directories live (removed on stop) */
  workDir: string;
  /** replace `ip` inside the node by the VF-netlink wrapper (default true) */
  ipWrapper?: boolean;
  log?: (line: string) => void;
}

/** The paths inside the node, as the node's programs see them. */
export const NODE_PATHS = {
  kubeletDir: '/var/lib/kubelet',
  devicePluginDir: '/var/lib/kubelet/device-plugins',
  pluginsRegistry: '/var/lib/kubelet/plugins_registry',
  podResourcesDir: '/var/lib/kubelet/pod-resources',
  cniBinDir: '/opt/cni/bin',
  cniConfDir: '/etc/cni/net.d',
  cniCacheDir: '/var/lib/cni',
  pcidpDir: '/etc/pcidp',
  devinfoDir: '/var/run/k8s.cni.cncf.io/devinfo/dp',
  controlSocket: '/run/sriov-lab/ctl.sock',
  realIp: '/run/sriov-lab/ip.real',
  /** the PFs' interface names, kept current by the sysfs server (the ip shim reads it) */
  pfList: '/run/sriov-lab/pfs',
  /** the node netns as readlink(/proc/self/ns/net) shows it */
  netnsId: '/run/sriov-lab/netns-id',
} as const;

export class NodeError extends Error {
  constructor(
    readonly node: string,
    message: string,
    readonly stderr = '',
  ) {
    super(`node ${node}: ${message}${stderr ? `\n${stderr.trim()}` : ''}`);
    this.name = 'NodeError';
  }
}

export interface StartedNode extends AsyncDisposable {
  readonly name: string;
  readonly netns: string;
  readonly fabricNetns: string;
  /** the node's private root on the host; `hostPath('/var/lib/kubelet')` maps a node path to it */
  readonly rootDir: string;
  readonly sysfs: StartedSysfsServer;
  hostPath(nodePath: string): string;
  /** argv prefix that runs a command inside the node */
  enterArgv(): string[];
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
  exec(argv: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<{ exitCode: number | null; stdout: string; stderr: string; durationMs: number }>;
  stop(): Promise<void>;
}

// node path → directory under rootDir that is bound there
const PRIVATE_BINDS: Array<[string, string]> = [
  ['/var/lib/kubelet', 'kubelet'],
  ['/var/lib/cni', 'cni-cache'],
  ['/etc/cni', 'etc-cni'],
  ['/etc/pcidp', 'etc-pcidp'],
  ['/opt/cni', 'opt-cni'],
];
// host directories given a node-private upper layer, so the mountpoints above can be created without touching the host
const OVERLAID = ['/etc', '/var/lib', '/opt'];

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** the host's device nodes a node's /dev gets (those this host has) */
const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'fuse', 'net/tun', 'kvm'];

/**
 * The node's /dev as a directory under its root, made here before the holder starts (no process per entry): empty
 * files for the host's device nodes to be bound onto, pts/ shm/ vfio/, and the links a container's /dev has.
 * Returns the device nodes it made files for.
 */
function prepareDev(root: string): string[] {
  const dev = join(root, 'dev');
  for (const d of ['pts', 'shm', 'vfio', 'net']) mkdirSync(join(dev, d), { recursive: true });
  const nodes = DEV_NODES.filter((n) => existsSync(`/dev/${n}`));
  for (const n of nodes) writeFileSync(join(dev, n), '');
  // the pts instance's own ptmx, as containers have it: a bind of the host's /dev/ptmx opens no pseudo-terminal here
  const links: Array<[string, string]> = [['pts/ptmx', 'ptmx'], ['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr']];
  for (const [target, name] of links) {
    rmSync(join(dev, name), { force: true });
    symlinkSync(target, join(dev, name));
  }
  return nodes;
}

/**
 * The holder's script: overlays, private binds, /run, /dev, the ip wrapper, then /sys and /dev/vfio from the model's
 * mount; READY, and it holds the namespaces until stdin closes. Only mounts run as processes (a node used to start
 * some seventy): directories, files and links are made beforehand (prepareDev, startNode).
 */
function holderScript(root: string, mnt: string, name: string, devNodes: string[], wrapper: string | null): string {
  // the UTS namespace's hostname without a process (hostname(1) writes the same file)
  const lines = ['set -e', `echo ${q(name)} > /proc/sys/kernel/hostname`];
  for (const d of OVERLAID) {
    const key = d.replace(/\//g, '_');
    lines.push(`mount -t overlay sl-ov -o lowerdir=${d},upperdir=${root}/ov/${key}/upper,workdir=${root}/ov/${key}/work ${d}`);
  }
  // the mountpoints exist: startNode made them in the overlays' upper layers
  for (const [target, dir] of PRIVATE_BINDS) lines.push(`mount --bind ${q(`${root}/${dir}`)} ${q(target)}`);
  // /run: private, but pod network namespaces the host creates later still show up under /run/netns
  lines.push(`mount --rbind /run/netns ${q(`${root}/run/netns`)}`, `mount --rbind ${q(`${root}/run`)} /run`);
  // /dev: the node's own directory with the host's basic nodes bound in, its own pts instance's ptmx, a tmpfs /dev/shm
  for (const n of devNodes) lines.push(`mount --bind /dev/${n} ${q(`${root}/dev/${n}`)}`);
  lines.push(`mount --rbind /dev/pts ${q(`${root}/dev/pts`)}`, `mount -t tmpfs -o mode=1777 shm ${q(`${root}/dev/shm`)}`, `mount --rbind ${q(`${root}/dev`)} /dev`);
  if (wrapper) lines.push(`mount --bind /usr/bin/ip ${NODE_PATHS.realIp}`, `mount --bind ${q(wrapper)} /usr/bin/ip`);
  // the model's sysfs
  lines.push(`mount --bind ${q(`${mnt}/dev/vfio`)} /dev/vfio`, `mount --bind ${q(`${mnt}/sys`)} /sys`);
  lines.push('echo READY', 'read -r _ || true');
  return lines.join('\n');
}

let counter = 0;

/** What a node set up so far, undone in reverse order; a failing step is logged and the rest still run. */
function cleanupStack(name: string, log: (line: string) => void): { cleanups: Array<() => Promise<void> | void>; runCleanups: () => Promise<void> } {
  const cleanups: Array<() => Promise<void> | void> = [];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log(`cleanup of node ${name}: ${(e as Error).message}`);
      }
    }
    cleanups.length = 0;
  };
  return { cleanups, runCleanups };
}

/** A short id for namespace names: unique per process and call. */
export function newRunId(): string {
  return `${process.pid.toString(36)}${(counter++).toString(36)}`;
}

export async function startNode(opts: NodeOptions): Promise<StartedNode> {
  const log = opts.log ?? (() => undefined);
  const netns = `sl${opts.runId}-${opts.name}`;
  const fabricNetns = `${netns}-f`;
  const root = join(opts.workDir, opts.name);
  for (const [, d] of PRIVATE_BINDS) mkdirSync(join(root, d), { recursive: true });
  for (const d of ['run/netns', 'run/sriov-lab', 'run/k8s.cni.cncf.io/devinfo/dp', 'dev', 'kubelet/device-plugins', 'kubelet/plugins_registry', 'kubelet/pod-resources', 'opt-cni/bin', 'etc-cni/net.d']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  const { cleanups, runCleanups } = cleanupStack(opts.name, log);
  try {
    log(`node ${opts.name}: creating network namespaces ${netns}, ${fabricNetns}`);
    await timed('node: netns add (node, fabric)', opts.name, () => ip(['-batch', '-'], { stdin: `netns add ${netns}\nnetns add ${fabricNetns}\n` }));
    cleanups.push(() => timed('node stop: netns del', opts.name, () => ip(['-batch', '-'], { stdin: `netns del ${netns}\nnetns del ${fabricNetns}\n` })).then(() => undefined));

    // the overlays' layers, with the private binds' mountpoints already in their upper layers
    for (const d of OVERLAID) {
      const key = d.replace(/\//g, '_');
      mkdirSync(join(root, 'ov', key, 'work'), { recursive: true });
      mkdirSync(join(root, 'ov', key, 'upper'), { recursive: true });
      for (const [target] of PRIVATE_BINDS) if (target.startsWith(`${d}/`)) mkdirSync(join(root, 'ov', key, 'upper', target.slice(d.length + 1)), { recursive: true });
    }
    const devNodes = prepareDev(root);
    let wrapper: string | null = null;
    if (opts.ipWrapper !== false) {
      const argv = entryCommand('ip-wrapper', 'sim/netns/ip-wrapper.ts');
      // the CommonJS bundle when built: Node starts it ~7 ms faster than the ES module one, once per ip call
      const cjs = join(projectRoot(), 'dist', 'ip-wrapper.cjs');
      const bundle = existsSync(cjs) ? cjs : join(projectRoot(), 'dist', 'ip-wrapper.mjs');
      wrapper = join(root, 'ip-wrapper.sh');
      if (existsSync(bundle)) {
        // link/address commands go to the wrapper, everything else straight to iproute2
        writeFileSync(
          wrapper,
          ipShimScript({ nodePath: process.execPath, wrapperPath: bundle, realIpPath: NODE_PATHS.realIp, pfListPath: NODE_PATHS.pfList, nodeNetnsPath: NODE_PATHS.netnsId, nodeNetnsFile: `/run/netns/${netns}` }),
        );
      } else {
        writeFileSync(wrapper, `#!/bin/sh\nexport SRIOV_LAB_CTL=${NODE_PATHS.controlSocket} SRIOV_LAB_REAL_IP=${NODE_PATHS.realIp}\nexec ${argv.map(q).join(' ')} "$@"\n`);
      }
      chmodSync(wrapper, 0o755);
      // the bind target of the real ip (/run is the node's run/)
      writeFileSync(join(root, NODE_PATHS.realIp.slice(1)), '');
    }

    // the holder's mount namespace gets the model's /sys, so the model is mounted first: a mount made on this host
    // after the holder's unshare would not show up in it where the host's mounts are private
    const endSysfs = phaseStart('node: sysfs (server ready + add node)', opts.name);
    const sysfs = await startSysfsServer({
      model: opts.model,
      workDir: join(root, 'sysfs'),
      controlSocket: join(root, 'run/sriov-lab/ctl.sock'),
      mirror: { netns, fabricNetns },
      cleanupOnParentExit: { netns: [netns, fabricNetns], dirs: [root], netnsPrefix: `${netns}-` },
    }, { node: opts.name });
    endSysfs();
    cleanups.push(() => timed('node stop: sysfs remove + unmount', opts.name, () => sysfs.stop()));

    const endHolder = phaseStart('node: mount namespace (holder script)', opts.name);
    const holder = spawn('nsenter', [`--net=/run/netns/${netns}`, 'unshare', '--mount', '--uts', '--propagation', 'slave', 'bash', '-c', holderScript(root, sysfs.mountDir, opts.name, devNodes, wrapper)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let holderErr = '';
    holder.stderr!.setEncoding('utf8').on('data', (d: string) => (holderErr += d));
    holder.stdin!.on('error', () => undefined);
    const holderExit = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    cleanups.push(async () => {
      const end = phaseStart('node stop: holder exit', opts.name);
      holder.stdin!.end();
      const t = setTimeout(() => holder.kill('SIGKILL'), 2000);
      await holderExit;
      clearTimeout(t);
      end();
    });
    await new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: holder.stdout! });
      rl.on('line', (l) => {
        if (l === 'READY') resolve();
      });
      void holderExit.then(() => reject(new NodeError(opts.name, 'mount namespace setup failed', holderErr)));
    });
    endHolder();
    const holderPid = holder.pid!;
    writeFileSync(join(root, 'run/sriov-lab/netns-id'), `${readlinkSync(`/proc/${holderPid}/ns/net`)}\n`);

    // --root: entering a mount namespace puts a process at that namespace's root; where sriov-lab itself runs in a
    // chroot (a build container, a fresh-machine chroot) that is not the root the node's mounts were made under;
    // --wd: and the working directory at that root, as setns leaves it
    const enterArgv = () => ['nsenter', `--net=/run/netns/${netns}`, `--mount=/proc/${holderPid}/ns/mnt`, `--uts=/proc/${holderPid}/ns/uts`, `--root=/proc/${holderPid}/root`, `--wd=/proc/${holderPid}/root`, '--'];
    log(`node ${opts.name}: ready (sysfs ${sysfs.mountDir}, holder ${holderPid})`);
    return startedNode({
      name: opts.name,
      netns,
      fabricNetns,
      rootDir: root,
      sysfs,
      hostPath(nodePath: string) {
        for (const [target, dir] of PRIVATE_BINDS) {
          if (nodePath === target || nodePath.startsWith(`${target}/`)) return join(root, dir, nodePath.slice(target.length));
        }
        const run = nodePath.replace(/^\/var\/run(\/|$)/, '/run$1');
        if (run === '/run' || run.startsWith('/run/')) return join(root, run);
        throw new NodeError(opts.name, `${nodePath} is not a node-private path`);
      },
      enterArgv,
      stop: async () => {
        log(`node ${opts.name}: stopping`);
        await runCleanups();
        // asynchronously: a node's tree takes a while, and a synchronous removal held up every other scenario's work
        await timed('node stop: rm root', opts.name, () => rm(root, { recursive: true, force: true }));
      },
    });
  } catch (e) {
    await runCleanups();
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The StartedNode of a node's parts: spawn/exec enter it with `enterArgv`, every child still running is stopped
 * (SIGTERM, then SIGKILL) before `stop` undoes the rest; a second stop waits for the first.
 */
function startedNode(p: Omit<StartedNode, 'spawn' | 'exec' | typeof Symbol.asyncDispose>): StartedNode {
  const children = new Set<ChildProcess>();
  const spawnIn = (argv: string[], o: SpawnOptions = {}): ChildProcess => {
    const [cmd, ...rest] = [...p.enterArgv(), ...argv];
    const c = spawn(cmd, rest, { cwd: '/', ...o });
    children.add(c);
    c.once('exit', () => children.delete(c));
    return c;
  };
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      const end = phaseStart(`node stop: ${children.size} child process(es) SIGTERM → exit`, p.name);
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
              setTimeout(() => c.kill('SIGKILL'), 2000).unref();
            }),
        ),
      );
      end();
      await p.stop();
    })();
    return stopping;
  };
  return {
    ...p,
    spawn: spawnIn,
    exec: (argv, o = {}) => execWith(spawnIn, argv, o),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

export interface AdoptOptions {
  /** the node's name (the container's hostname stays its own) */
  name: string;
  model: ModelOptions;
  runId: string;
  /** the PID, on this host, of the container's init: its network and mount namespaces become the node's */
  pid: number;
  /**
   * a directory of this host that the container has bind-mounted with host-to-container propagation (rslave), and
   * where it sees it: the sysfs server mounts the model under it here, so the mount shows up in the container
   */
  share: { host: string; container: string };
  /**
   * bind the sim's ip wrapper over the container's `ip` (default true), as a sim node has it: `ip link set PF vf N …`
   * and the VF listings of `ip link show` go to the kernel model, for every program of the container (a CNI its
   * Multus runs chrooted into the node's root included). It runs this machine's node and dist/ip-wrapper.mjs, both
   * put in the share, on the container's own libraries (glibc, libstdc++).
   */
  ipWrapper?: boolean;
  log?: (line: string) => void;
}

/** where an adopted node keeps the container's own /sys while the model's is bound over it */
export const HOST_SYSFS_KEPT = '/run/sriov-lab/sys.host';

/**
 * The script, run in the container's mount namespace by its own sh, that puts the model's sysfs (at $1/sys) over
 * /sys: a tmpfs at /sys holding, for each entry of the container's sysfs and the model's, the model's where it has
 * one and the container's otherwise, two levels deep. So /sys/bus/pci, /sys/class/net, /sys/devices/pci0000:00 and
 * /sys/kernel/iommu_groups are the model's, while /sys/fs/cgroup, /sys/devices/system and /sys/kernel/mm stay the
 * kernel's (a real kubelet needs them). The model's /dev/vfio is bound over /dev/vfio.
 */
export const ADOPT_SYSFS_SCRIPT = `set -e
M="$1/sys"; H=${HOST_SYSFS_KEPT}
mkdir -p "$H"
mount -o rbind /sys "$H"
mount -t tmpfs -o mode=755 sriov-lab-sysfs /sys
place() {
  if [ -L "$1" ]; then ln -s "$(readlink "$1")" "$2"
  elif [ -d "$1" ]; then mkdir -p "$2"; mount -o rbind "$1" "$2"
  else touch "$2"; mount -o bind "$1" "$2"; fi
}
for top in $( (ls -A "$H"; ls -A "$M") | sort -u); do
  if [ -d "$M/$top" ] && [ -d "$H/$top" ] && [ ! -L "$H/$top" ]; then
    mkdir -p "/sys/$top"
    for e in $( (ls -A "$H/$top"; ls -A "$M/$top") | sort -u); do
      if [ -e "$M/$top/$e" ] || [ -L "$M/$top/$e" ]; then place "$M/$top/$e" "/sys/$top/$e"; else place "$H/$top/$e" "/sys/$top/$e"; fi
    done
  elif [ -e "$M/$top" ] || [ -L "$M/$top" ]; then place "$M/$top" "/sys/$top"
  else place "$H/$top" "/sys/$top"; fi
done
mkdir -p /dev/vfio
mount -o bind "$1/dev/vfio" /dev/vfio
echo READY`;

/**
 * The script, run in the container's mount namespace, that binds the ip shim ($1) over the container's iproute2 `ip`
 * (each of /usr/bin/ip, /usr/sbin/ip, /bin/ip, /sbin/ip that exists, symlinks resolved, once) and keeps the real one
 * at NODE_PATHS.realIp, where the shim and the wrapper run it; the files it bound over are listed in ip.bound.
 */
export const ADOPT_IP_SCRIPT = `set -e
real=
for p in /usr/bin/ip /usr/sbin/ip /bin/ip /sbin/ip; do
  [ -e "$p" ] || continue
  f=$(readlink -f "$p")
  case " $real " in *" $f "*) ;; *) real="$real $f" ;; esac
done
[ -n "$real" ] || { echo "the container has no ip (iproute2) to wrap" >&2; exit 1; }
mkdir -p ${dirname(NODE_PATHS.realIp)}
set -- "$1" $real
touch ${NODE_PATHS.realIp}
mount -o bind "$2" ${NODE_PATHS.realIp}
shim=$1; shift
: > ${dirname(NODE_PATHS.realIp)}/ip.bound
for f in "$@"; do mount -o bind "$shim" "$f"; echo "$f" >> ${dirname(NODE_PATHS.realIp)}/ip.bound; done
echo READY`;

/** undoes ADOPT_IP_SCRIPT: the container's own ip comes back */
export const UNADOPT_IP_SCRIPT = `b=${dirname(NODE_PATHS.realIp)}/ip.bound; rc=0
for f in $(cat "$b" 2>/dev/null); do umount -l "$f" || rc=1; done
umount -l ${NODE_PATHS.realIp} || rc=1
rm -f "$b" ${NODE_PATHS.realIp} || rc=1
exit $rc`;

/**
 * Runs a script in the mount namespace of the container whose init is `pid`, by the container's own sh; withPid: in its
 * PID namespace too, where its /proc/self is ours (umount reads /proc/self/mountinfo, and fails with ENOENT outside it).
 */
export function inContainerMountNs(pid: number, script: string, args: string[] = [], withPid = false): Promise<ExecOutcome> {
  return execWith((a, o) => spawn(a[0], a.slice(1), o), ['nsenter', '-t', String(pid), '-m', ...(withPid ? ['-p'] : []), '--', 'sh', '-c', script, 'sh', ...args], { timeoutMs: 60_000 });
}

/** ADOPT_IP_SCRIPT in the container of `pid`: `shim` (a path the container sees) over its ip */
export async function wrapContainerIp(pid: number, shim: string): Promise<void> {
  const r = await inContainerMountNs(pid, ADOPT_IP_SCRIPT, [shim]);
  if (r.exitCode !== 0 || !r.stdout.includes('READY')) throw new Error(`binding the ip wrapper over ip in the container of PID ${pid} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/** UNADOPT_IP_SCRIPT in the container of `pid` (in its PID namespace: see inContainerMountNs); what failed is thrown */
export async function unwrapContainerIp(pid: number): Promise<void> {
  const r = await inContainerMountNs(pid, UNADOPT_IP_SCRIPT, [], true);
  if (r.exitCode !== 0) throw new Error(`giving the container of PID ${pid} its ip back: ${r.stderr.trim()}`);
}

/** undoes ADOPT_SYSFS_SCRIPT: the container's own /sys and /dev/vfio come back */
export const UNADOPT_SYSFS_SCRIPT = `umount -l /dev/vfio 2>/dev/null; umount -l /sys; umount -l ${HOST_SYSFS_KEPT} && rmdir ${HOST_SYSFS_KEPT}; true`;

/**
 * A node made of an existing container (a kind node): the sysfs server runs on this host and serves the model under
 * the container's share, bound over the container's /sys (ADOPT_SYSFS_SCRIPT, entered with nsenter -t PID -m), and
 * the model's netdevs are mirrored into the container's network namespace (named for ip as `sl<run>-<node>`, with
 * a fabric namespace of its own on this host). The container keeps its own /var/lib/kubelet, /etc/cni and /opt/cni:
 * a real kubelet and its plugins run there. stop() gives the container its /sys back and removes the netdevs.
 */
export async function adoptContainer(opts: AdoptOptions): Promise<StartedNode> {
  const log = opts.log ?? (() => undefined);
  const netns = `sl${opts.runId}-${opts.name}`;
  const fabricNetns = `${netns}-f`;
  const hostDir = join(opts.share.host, 'sysfs');
  const inContainer = `${opts.share.container.replace(/\/+$/, '')}/sysfs/mnt`;
  const { cleanups, runCleanups } = cleanupStack(opts.name, log);
  const inMountNs = (script: string, args: string[] = []) => inContainerMountNs(opts.pid, script, args);
  try {
    log(`node ${opts.name}: adopting the network namespace of PID ${opts.pid} as ${netns}, fabric ${fabricNetns}`);
    await ip(['-batch', '-'], { stdin: `netns attach ${netns} ${opts.pid}\nnetns add ${fabricNetns}\n` });
    // del of the attached name only drops the name; the fabric namespace's veth ends take the VF netdevs along
    cleanups.push(() => ip(['-force', '-batch', '-'], { stdin: `netns del ${fabricNetns}\nnetns del ${netns}\n` }).then(() => undefined));
    const sysfs = await startSysfsServer({
      model: opts.model,
      workDir: hostDir,
      controlSocket: join(opts.share.host, 'ctl.sock'),
      mirror: { netns, fabricNetns },
      cleanupOnParentExit: { netns: [fabricNetns, netns], dirs: [] },
    });
    cleanups.push(() => sysfs.stop());
    const r = await inMountNs(ADOPT_SYSFS_SCRIPT, [inContainer]);
    if (r.exitCode !== 0 || !r.stdout.includes('READY')) {
      // what it did mount comes off again
      await inMountNs(UNADOPT_SYSFS_SCRIPT);
      throw new NodeError(opts.name, `binding the simulated sysfs over /sys of the container of PID ${opts.pid} failed (exit ${r.exitCode})`, r.stderr);
    }
    cleanups.push(async () => {
      // a container that stopped took its mount namespace along
      if (!existsSync(`/proc/${opts.pid}/ns/mnt`)) return;
      const u = await inMountNs(UNADOPT_SYSFS_SCRIPT);
      if (u.exitCode !== 0) log(`node ${opts.name}: giving the container its /sys back: ${u.stderr.trim()}`);
    });
    if (opts.ipWrapper !== false) {
      const bundle = join(projectRoot(), 'dist', 'ip-wrapper.mjs');
      if (!existsSync(bundle)) throw new NodeError(opts.name, `the ip wrapper's bundle ${bundle} is missing (npm run build): a container runs the bundle, not the sources`);
      const inShare = (f: string) => `${opts.share.container.replace(/\/+$/, '')}/${f}`;
      const files = ['ip', 'ip-wrapper.mjs', 'node', 'netns-id'].map((f) => join(opts.share.host, f));
      cleanups.push(() => {
        for (const f of files) rmSync(f, { force: true });
      });
      copyFileSync(bundle, files[1]);
      // this machine's node, bound (not copied: ~100 MB) under the share, whose mounts propagate into the container
      writeFileSync(files[2], '');
      const bound = await execWith((a, o) => spawn(a[0], a.slice(1), o), ['mount', '--bind', process.execPath, files[2]]);
      if (bound.exitCode !== 0) throw new NodeError(opts.name, `mount --bind ${process.execPath} ${files[2]} failed`, bound.stderr);
      cleanups.push(async () => {
        const u = await execWith((a, o) => spawn(a[0], a.slice(1), o), ['umount', files[2]]);
        if (u.exitCode !== 0) log(`node ${opts.name}: umount ${files[2]}: ${u.stderr.trim()}`);
      });
      writeFileSync(files[3], `${readlinkSync(`/proc/${opts.pid}/ns/net`)}\n`);
      writeFileSync(
        files[0],
        ipShimScript({ nodePath: inShare('node'), wrapperPath: inShare('ip-wrapper.mjs'), realIpPath: NODE_PATHS.realIp, pfListPath: inShare('pfs'), nodeNetnsPath: inShare('netns-id'), controlSocketPath: inShare('ctl.sock') }),
      );
      chmodSync(files[0], 0o755);
      // undone even when the binding failed half-way
      cleanups.push(async () => {
        if (existsSync(`/proc/${opts.pid}/ns/mnt`)) await unwrapContainerIp(opts.pid);
      });
      await wrapContainerIp(opts.pid, inShare('ip'));
    }
    const pid = String(opts.pid);
    log(`node ${opts.name}: adopted PID ${opts.pid} (sysfs ${sysfs.mountDir}, in the container ${inContainer}${opts.ipWrapper !== false ? `; ip: the sim's wrapper` : ''})`);
    return startedNode({
      name: opts.name,
      netns,
      fabricNetns,
      rootDir: `/proc/${pid}/root`,
      sysfs,
      hostPath: (nodePath: string) => `/proc/${pid}/root${nodePath}`,
      enterArgv: () => ['nsenter', '-t', pid, '--mount', '--uts', '--ipc', '--net', '--pid', '--'],
      stop: async () => {
        log(`node ${opts.name}: giving back the container of PID ${opts.pid}`);
        await runCleanups();
      },
    });
  } catch (e) {
    await runCleanups();
    throw e;
  }
}

/** Model options for a node of a resolved topology. */
export function modelOptionsFor(spec: { nics: ModelOptions['nics']; netdevNaming: 'predictable' | 'kernel' }, seed = 1): ModelOptions {
  return { nics: spec.nics, netdevNaming: spec.netdevNaming, seed };
}
