// The state directory of the background cluster: who the daemon is (daemon.json), its control socket and log, and
// how to find — and remove — everything a daemon that died without cleaning up left behind.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot } from '../../sim/caps.ts';

/** Marker in the environment of the daemon and every process it starts, so leftovers can be found after a crash. */
export const DAEMON_ID_ENV = 'SRIOV_LAB_DAEMON_ID';
export const STATE_DIR_ENV = 'SRIOV_LAB_STATE_DIR';

export interface DaemonPaths {
  stateDir: string;
  /** written by the daemon, exclusively: it doubles as the "one daemon per state dir" lock */
  info: string;
  socket: string;
  log: string;
  /** the options `up` hands to the daemon */
  options: string;
  /** kubeconfig of the cluster's API server (mode 0600): `export KUBECONFIG=$(sriov-lab kubeconfig)` */
  kubeconfig: string;
}

export interface DaemonInfo {
  pid: number;
  id: string;
  stateDir: string;
  /** where the nodes' private trees, FUSE mounts and shims live (not under /run: nodes get a private /run) */
  workDir: string;
  socket: string;
  log: string;
  startedAt: string;
  /** the nodes' network namespaces; pod sandboxes are named `<node netns>-<hash>` */
  netns: string[];
  /** the API server's URL, once it listens */
  apiServer?: string;
}

export function resolveStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[STATE_DIR_ENV];
  if (fromEnv) return fromEnv;
  if (isRoot()) return '/run/sriov-lab/cluster';
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime ? join(runtime, 'sriov-lab', 'cluster') : join('/tmp', `sriov-lab-${process.getuid?.() ?? 'user'}`, 'cluster');
}

export function daemonPaths(stateDir: string): DaemonPaths {
  return {
    stateDir,
    info: join(stateDir, 'daemon.json'),
    socket: join(stateDir, 'control.sock'),
    log: join(stateDir, 'daemon.log'),
    options: join(stateDir, 'options.json'),
    kubeconfig: join(stateDir, 'kubeconfig'),
  };
}

export function readDaemonInfo(paths: DaemonPaths): DaemonInfo | undefined {
  let text: string;
  try {
    text = readFileSync(paths.info, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as Partial<DaemonInfo>;
    if (typeof v.pid !== 'number' || typeof v.id !== 'string') return undefined;
    return { netns: [], workDir: '', socket: paths.socket, log: paths.log, stateDir: paths.stateDir, startedAt: '', ...v } as DaemonInfo;
  } catch {
    return undefined; // half-written by a daemon killed mid-write: treated as stale
  }
}

/** Rewrites daemon.json atomically (the first write is the exclusive create, see the daemon). */
export function writeDaemonInfo(paths: DaemonPaths, info: DaemonInfo): void {
  const tmp = `${paths.info}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(tmp, paths.info);
}

function environOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
}

/** Processes carrying the daemon's marker: the daemon itself and everything it started (sysfs servers, plugins…). */
export function processesOf(id: string): number[] {
  const marker = `${DAEMON_ID_ENV}=${id}`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const env = environOf(pid);
    if (env && env.split('\0').includes(marker)) out.push(pid);
  }
  return out;
}

/** Is the daemon of this info alive? Checked by its marker, so a recycled pid is never mistaken for it. */
export function isDaemonAlive(info: DaemonInfo): boolean {
  const env = environOf(info.pid);
  return !!env && env.split('\0').includes(`${DAEMON_ID_ENV}=${info.id}`);
}

export interface Leftovers {
  processes: number[];
  netns: string[];
  mounts: string[];
  workDirExists: boolean;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** What of a daemon's world still exists: its processes, network namespaces, mounts under its work dir. */
export function findLeftovers(info: Pick<DaemonInfo, 'id' | 'workDir' | 'netns'>): Leftovers {
  const processes = processesOf(info.id);
  const netns = info.netns.length ? listNetns().filter((n) => info.netns.some((own) => n === own || n.startsWith(`${own}-`))) : [];
  const mounts = info.workDir
    ? readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => unescapeMount(l.split(' ')[1] ?? ''))
        .filter((m) => m === info.workDir || m.startsWith(`${info.workDir}/`))
    : [];
  return { processes, netns, mounts, workDirExists: !!info.workDir && existsSync(info.workDir) };
}

export function leftoversEmpty(l: Leftovers): boolean {
  return l.processes.length === 0 && l.netns.length === 0 && l.mounts.length === 0 && !l.workDirExists;
}

export function describeLeftovers(l: Leftovers): string {
  const parts: string[] = [];
  if (l.processes.length) parts.push(`processes ${l.processes.join(', ')}`);
  if (l.netns.length) parts.push(`network namespaces ${l.netns.join(', ')}`);
  if (l.mounts.length) parts.push(`mounts ${l.mounts.join(', ')}`);
  if (l.workDirExists) parts.push('the work directory');
  return parts.join('; ') || 'nothing';
}

/**
 * Removes what a dead (or killed) daemon left: kills its marked processes, deletes its network namespaces, unmounts
 * and removes its work dir, then its state files. Returns what was found before cleaning.
 */
export async function cleanupLeftovers(info: DaemonInfo, paths: DaemonPaths): Promise<Leftovers> {
  const found = findLeftovers(info);
  for (const pid of found.processes) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 50 && processesOf(info.id).length; i++) await new Promise((r) => setTimeout(r, 100));
  if (found.netns.length) spawnSync('ip', ['-force', '-batch', '-'], { input: found.netns.map((n) => `netns del ${n}\n`).join('') });
  // deepest first; lazy, since a dead FUSE server's mount answers nothing
  for (const m of [...findLeftovers(info).mounts].sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  if (info.workDir) rmSync(info.workDir, { recursive: true, force: true });
  removeStateFiles(paths);
  return found;
}

export function removeStateFiles(paths: DaemonPaths): void {
  for (const f of [paths.info, paths.socket, paths.options, paths.kubeconfig]) rmSync(f, { force: true });
}
