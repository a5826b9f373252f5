// Running iproute2, nsenter and delegate plugins. Synchronous: a CNI plugin is one short process per call and does
// one thing at a time; spawnSync keeps the code straight and costs nothing extra.
import { spawnSync } from 'node:child_process';
import { CommandError } from './errors.ts';
import type { Logger } from './log.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  durationMs: number;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** extra file descriptors handed to the child as fd 3, 4, … */
  fds?: number[];
  /** resolve instead of throwing on a non-zero exit */
  allowFail?: boolean;
  timeoutMs?: number;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class Runner {
  readonly env: NodeJS.ProcessEnv;
  /** every command run, for tests and the debug log */
  readonly history: Array<{ argv: string[]; exitCode: number | null; durationMs: number }> = [];

  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.env = env.PATH ? env : { ...env, PATH: DEFAULT_PATH };
  }

  run(argv: readonly string[], opts: RunOptions = {}): RunResult {
    const t0 = performance.now();
    const stdio: Array<'pipe' | number> = ['pipe', 'pipe', 'pipe', ...(opts.fds ?? [])];
    const r = spawnSync(argv[0], argv.slice(1), {
      input: opts.input ?? '',
      env: opts.env ?? this.env,
      stdio,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      timeout: opts.timeoutMs ?? 60_000,
    });
    const durationMs = performance.now() - t0;
    const exitCode = r.error ? null : r.status;
    this.history.push({ argv: [...argv], exitCode, durationMs });
    this.log.debug(`exec ${argv.join(' ')}${opts.input ? ` <<< ${opts.input.trim().replace(/\n/g, '; ')}` : ''} → ${exitCode} (${durationMs.toFixed(1)} ms)`);
    const res = { stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? r.error.message : ''), exitCode, durationMs };
    if (exitCode !== 0 && !opts.allowFail) throw new CommandError(argv, exitCode, res.stderr, durationMs, res.stdout);
    return res;
  }

  /** `ip ARGS`, inside the network namespace at `netnsPath` when given (ip -n only takes names, nsenter takes paths). */
  ip(args: readonly string[], opts: RunOptions & { netns?: string } = {}): RunResult {
    const argv = opts.netns ? ['nsenter', `--net=${opts.netns}`, '--', 'ip', ...args] : ['ip', ...args];
    return this.run(argv, opts);
  }

  /** `ip -batch -` with one command per line; ip stops at the first failing line. */
  ipBatch(lines: readonly string[], opts: RunOptions & { netns?: string } = {}): RunResult {
    return this.ip(['-batch', '-'], { ...opts, input: `${lines.join('\n')}\n` });
  }
}
