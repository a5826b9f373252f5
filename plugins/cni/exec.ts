// Running iproute2, nsenter and delegate plugins. Synchronous: a CNI plugin is one short process per call and does
// one thing at a time; spawnSync keeps the code straight and costs nothing extra.
import { spawn, spawnSync } from 'node:child_process';
import { CommandError } from './errors.ts';
import type { Logger } from './log.ts';
import { step } from './timing.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  durationMs: number;
}

export interface IpSession {
  readonly argv: readonly string[];
  /** the commands sent so far */
  readonly sent: readonly string[];
  send(lines: readonly string[]): void;
  /** the next line of ip's stdout; rejects with a CommandError when ip ends first */
  readLine(): Promise<string>;
  end(): Promise<RunResult>;
}

/**
 * A session's failure as the command that failed would have failed on its own: its stderr without ip's "Command
 * failed -:N" (or with it, numbered from `first`, when the command was one of a batch of its own); undefined when
 * ip did not name a command.
 */
export function sessionFailure(r: RunResult): { index: number; stderr: string } | undefined {
  const m = /Command failed -:(\d+)\n?/.exec(r.stderr);
  if (!m) return undefined;
  return { index: Number(m[1]) - 1, stderr: r.stderr.slice(0, m.index) + r.stderr.slice(m.index + m[0].length) };
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

/** A command's name for the step timer: the program and its first words, without paths or values. */
function stepName(argv: readonly string[]): string {
  const words = argv[0] === 'nsenter' ? ['nsenter', ...argv.slice(argv.indexOf('--') + 1)] : [...argv];
  return words
    .slice(0, 6)
    .map((w) => w.replace(/^.*\//, ''))
    .join(' ');
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
    step('js');
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
    step(`exec ${stepName(argv)}`);
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

  /**
   * `ip -j -batch -` kept open: send() writes commands, readLine() waits for the next line ip prints (a listing
   * is one line in JSON), end() closes its stdin and waits for it. One process for commands that depend on what an
   * earlier one listed. ip stops at the first failing command and names it on stderr ("Command failed -:N").
   */
  ipSession(opts: { netns?: string } = {}): IpSession {
    const argv = opts.netns ? ['nsenter', `--net=${opts.netns}`, '--', 'ip', '-j', '-batch', '-'] : ['ip', '-j', '-batch', '-'];
    step('js');
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    const sent: string[] = [];
    const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
    let ended: RunResult | undefined;
    const lineReady = () => {
      while (waiting.length) {
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          waiting.shift()!.resolve(line);
        } else if (ended) {
          waiting.shift()!.reject(new CommandError(argv, ended.exitCode, ended.stderr, ended.durationMs, out));
        } else return;
      }
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      lineReady();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // a child that exits early (a failed command) closes its stdin: a later write must not kill us
    child.stdin.on('error', () => undefined);
    const done = new Promise<RunResult>((resolve) => {
      child.on('error', (e) => (stderr += e.message));
      child.on('close', (code) => {
        const durationMs = performance.now() - t0;
        ended = { stdout: out, stderr, exitCode: child.exitCode ?? (code === null ? null : code), durationMs };
        this.history.push({ argv: [...argv], exitCode: ended.exitCode, durationMs });
        this.log.debug(`exec ${argv.join(' ')} <<< ${sent.join('; ')} → ${ended.exitCode} (${durationMs.toFixed(1)} ms)`);
        lineReady();
        resolve(ended);
      });
    });
    return {
      argv,
      sent,
      send: (lines) => {
        sent.push(...lines);
        if (!ended && lines.length) child.stdin.write(`${lines.join('\n')}\n`);
      },
      readLine: () => new Promise<string>((resolve, reject) => {
        waiting.push({ resolve, reject });
        lineReady();
      }),
      end: async () => {
        child.stdin.end();
        const r = await done;
        step(`exec ${stepName(argv)} (session: ${sent.length} commands)`);
        return r;
      },
    };
  }

  /** `ip -batch -` with one command per line; ip stops at the first failing line. */
  ipBatch(lines: readonly string[], opts: RunOptions & { netns?: string } = {}): RunResult {
    return this.ip(['-batch', '-'], { ...opts, input: `${lines.join('\n')}\n` });
  }
}
