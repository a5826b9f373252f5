// The host backend's access to the machine: sysfs files and the `ip` command. One small interface so the same code
// runs on a real host (localSystem) and is tested on the real kernel inside a QEMU guest (where the guest is "the
// host"), and so tests can record what was touched.
import { execFile } from 'node:child_process';
import { readFile, readdir, readlink, writeFile, access } from 'node:fs/promises';

export class HostSysfsError extends Error {
  constructor(
    readonly path: string,
    readonly op: 'read' | 'write' | 'readlink' | 'list',
    readonly errno: string,
    detail: string,
  ) {
    super(`${op} ${path}: ${errno} (${detail})`);
    this.name = 'HostSysfsError';
  }
}

export class HostCommandError extends Error {
  constructor(
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly durationMs: number,
  ) {
    super(`${command.join(' ')} exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    this.name = 'HostCommandError';
  }
}

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface HostSystem {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
  readlink(path: string): Promise<string>;
  list(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** runs a command; never throws for a non-zero exit (see `must`) */
  run(argv: string[]): Promise<CommandResult>;
}

function wrap(path: string, op: HostSysfsError['op'], e: unknown): HostSysfsError {
  const err = e as NodeJS.ErrnoException;
  return new HostSysfsError(path, op, err.code ?? 'EIO', err.message);
}

/** This machine (or the guest this runs in). `ip` is looked up as /usr/sbin/ip, /sbin/ip, then PATH. */
export function localSystem(opts: { ip?: string } = {}): HostSystem {
  const ipPath = opts.ip ?? process.env.SRIOV_LAB_IP ?? 'ip';
  return {
    async read(path) {
      try {
        return (await readFile(path, 'utf8')).replace(/\n$/, '');
      } catch (e) {
        throw wrap(path, 'read', e);
      }
    },
    async write(path, value) {
      try {
        await writeFile(path, value);
      } catch (e) {
        throw wrap(path, 'write', e);
      }
    },
    async readlink(path) {
      try {
        return await readlink(path);
      } catch (e) {
        throw wrap(path, 'readlink', e);
      }
    },
    async list(path) {
      try {
        return (await readdir(path)).sort();
      } catch (e) {
        throw wrap(path, 'list', e);
      }
    },
    async exists(path) {
      try {
        await access(path);
        return true;
      } catch {
        return false;
      }
    },
    run(argv) {
      const t0 = performance.now();
      const [cmd, ...args] = argv[0] === 'ip' ? [ipPath, ...argv.slice(1)] : argv;
      return new Promise((resolve) => {
        execFile(cmd, args, { encoding: 'utf8', maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : err.code === 'ENOENT' ? 127 : 1) : 0;
          resolve({ exitCode: code, stdout, stderr: err && !stderr ? err.message : stderr, durationMs: performance.now() - t0 });
        });
      });
    },
  };
}

/** run() that throws HostCommandError on a non-zero exit. */
export async function must(sys: HostSystem, argv: string[]): Promise<string> {
  const r = await sys.run(argv);
  if (r.exitCode !== 0) throw new HostCommandError(argv, r.exitCode, r.stderr, r.durationMs);
  return r.stdout;
}
