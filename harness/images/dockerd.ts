// A private dockerd for the image build and the image tests: its own socket, data root, exec root and pid file under
// one temporary directory, so it never meets the machine's Docker or another engineer's dockerd. Without iptables
// and without the default bridge (MACHINE.md: dockerd otherwise leaves FORWARD DROP, docker0 and ip_forward=1 behind),
// so containers use `--network none` or the host's network. stop() ends it (SIGTERM, then SIGKILL), ends any process
// still using its directories, unmounts what it left and removes the directory, also after a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addExitHook } from '../exit-hooks.ts';

export interface StartedDockerd extends AsyncDisposable {
  /** unix:///…/docker.sock */
  host: string;
  /** the environment a docker client (CLI, testcontainers) uses to reach it */
  env: { DOCKER_HOST: string };
  dir: string;
  pid: number;
  /** the daemon's log (stdout and stderr) */
  logFile: string;
  stop(): Promise<void>;
}

export interface DockerdOptions {
  /** the dockerd binary (default: dockerd on PATH) */
  dockerd?: string;
  /** how long to wait for /_ping (default 60 s) */
  readyTimeoutMs?: number;
  /** progress lines */
  log?: (line: string) => void;
}

/** Why no private dockerd can run here, or undefined when it can be tried. */
export function dockerdUnavailable(dockerd = 'dockerd'): string | undefined {
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  const r = spawnSync(dockerd, ['--version'], { encoding: 'utf8' });
  if (r.error) return `no ${dockerd} (${(r.error as NodeJS.ErrnoException).code}); \`sriov-lab setup --for test\` installs docker.io`;
  if (spawnSync('docker', ['--version']).error) return 'no docker client on PATH; `sriov-lab setup --for test` installs docker.io';
  return undefined;
}

/** GET /_ping on the socket: true once the daemon answers OK. */
export function ping(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

/** Processes (other than ours) whose command line or working directory is under dir: containerd and its shims. */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${e}/cwd`);
      } catch {
        // a process gone or a kernel thread
      }
      if (cmd.includes(dir) || cwd.startsWith(dir)) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Mount points at or under dir, deepest first. */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mp && (mp === dir || mp.startsWith(`${dir}/`))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

export async function startDockerd(opts: DockerdOptions = {}): Promise<StartedDockerd> {
  const log = opts.log ?? (() => undefined);
  // short: the containerd socket under the exec root must stay within a unix socket path's 108 bytes
  const dir = mkdtempSync(join(tmpdir(), 'sl-dockerd-'));
  const sock = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  const ns = `sriov-lab-${process.pid}-${dir.slice(-6)}`;
  // a configuration of its own: the machine's /etc/docker/daemon.json (GitHub's runners have one) may set hosts,
  // roots or a bridge that clash with these flags
  const config = join(dir, 'daemon.json');
  writeFileSync(config, '{}\n');
  const args = [
    `--config-file=${config}`,
    `--host=unix://${sock}`,
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'dockerd.pid')}`,
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--bridge=none',
    // if a system containerd is running, its namespaces keep this daemon's containers apart from another dockerd's
    `--containerd-namespace=${ns}`,
    `--containerd-plugins-namespace=${ns}-plugins`,
  ];
  const out = openSync(logFile, 'a');
  const child = spawn(opts.dockerd ?? 'dockerd', args, { stdio: ['ignore', out, out] });
  closeSync(out);
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const killLeft = () => {
    for (const pid of processesUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const mp of mountsUnder(dir)) spawnSync('umount', ['-l', mp]);
    rmSync(dir, { recursive: true, force: true });
  };
  let stopped = false;
  let removeHook: () => void = () => undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // dockerd stops its containers first
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited(child);
      clearTimeout(killer);
    }
    killLeft();
    removeHook();
  };
  // Ctrl-C or a killed test: the daemon and its directories go too (on a plain exit only what can be done at once)
  removeHook = addExitHook({
    name: `private dockerd (pid ${child.pid}, ${dir})`,
    sync: () => {
      if (stopped) return;
      child.kill('SIGKILL');
      killLeft();
    },
    async: stop,
    timeoutMs: 25_000,
  });
  log(`starting a private dockerd (socket ${sock})…`);
  const t0 = Date.now();
  const limit = opts.readyTimeoutMs ?? 60_000;
  try {
    for (;;) {
      if (spawnError) throw new Error(`dockerd did not start: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}) before answering; its log:\n${tail(logFile)}`);
      if (existsSync(sock) && (await ping(sock))) break;
      if (Date.now() - t0 > limit) throw new Error(`dockerd did not answer /_ping on ${sock} after ${limit}ms; its log:\n${tail(logFile)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log(`dockerd ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const host = `unix://${sock}`;
  return { host, env: { DOCKER_HOST: host }, dir, pid: child.pid!, logFile, stop, [Symbol.asyncDispose]: stop };
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
