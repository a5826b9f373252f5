// Interactive commands in pods (`kubectl exec`), as sessions a control plane drives by calls alone — start, input,
// read (a long poll), kill — so that the same methods carry them in process and over a node agent's request/reply wire.
// With a tty the command runs under script(1), which gives it a pseudo-terminal; its stdout then carries the terminal.
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export interface ExecStart {
  /** the argv prefix that enters the pod (nsenter --net=…), empty for hostNetwork */
  enter: string[];
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdin: boolean;
  tty: boolean;
}

export interface ExecRead {
  /** base64 of what the command wrote since the last read */
  stdout: string;
  stderr: string;
  /** set once the command ended and all of its output was read */
  exit?: { exitCode: number; signal?: string };
}

interface Session {
  proc: ChildProcess;
  out: Buffer[];
  err: Buffer[];
  closed?: { exitCode: number; signal?: string };
  wake?: () => void;
  idleTimer?: NodeJS.Timeout;
}

/** a session nobody read for this long is killed (its client went away without a word) */
const IDLE_MS = 120_000;

/** sh quoting of one word */
function shQuote(s: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export class ExecSessions {
  private readonly sessions = new Map<string, Session>();
  private next = 1;
  constructor(private readonly spawn: (argv: string[], opts?: SpawnOptions) => ChildProcess) {}

  start(o: ExecStart): string {
    const argv = o.tty ? ['script', '-qfec', o.argv.map(shQuote).join(' '), '/dev/null'] : o.argv;
    const proc = this.spawn([...o.enter, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: { TERM: 'xterm', ...o.env }, detached: true });
    const id = String(this.next++);
    const s: Session = { proc, out: [], err: [] };
    this.sessions.set(id, s);
    const wake = () => s.wake?.();
    proc.stdout!.on('data', (d: Buffer) => {
      s.out.push(d);
      wake();
    });
    proc.stderr!.on('data', (d: Buffer) => {
      s.err.push(d);
      wake();
    });
    proc.on('error', (e) => {
      s.err.push(Buffer.from(`${o.argv[0]}: ${e.message}\n`));
      wake();
    });
    proc.once('close', (code, signal) => {
      s.closed = { exitCode: code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : 1), ...(signal ? { signal } : {}) };
      wake();
    });
    proc.stdin!.on('error', () => undefined);
    if (!o.stdin) proc.stdin!.end();
    this.touch(id, s);
    return id;
  }

  private touch(id: string, s: Session): void {
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => this.kill(id), IDLE_MS);
    s.idleTimer.unref();
  }

  private must(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`no exec session ${id}`);
    return s;
  }

  input(id: string, data: string | undefined, close: boolean): void {
    const s = this.must(id);
    if (data && s.proc.stdin!.writable) s.proc.stdin!.write(Buffer.from(data, 'base64'));
    if (close) s.proc.stdin!.end();
  }

  /** What the command wrote since the last read, waiting up to waitMs for something; the exit once all is read. */
  async read(id: string, waitMs: number): Promise<ExecRead> {
    const s = this.must(id);
    this.touch(id, s);
    if (!s.out.length && !s.err.length && !s.closed && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, waitMs);
        function done() {
          clearTimeout(t);
          s.wake = undefined;
          resolve();
        }
        s.wake = done;
      });
    }
    const r: ExecRead = { stdout: Buffer.concat(s.out.splice(0)).toString('base64'), stderr: Buffer.concat(s.err.splice(0)).toString('base64') };
    if (s.closed) {
      r.exit = s.closed;
      if (s.idleTimer) clearTimeout(s.idleTimer);
      this.sessions.delete(id);
    }
    return r;
  }

  kill(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    if (s.idleTimer) clearTimeout(s.idleTimer);
    if (s.proc.pid && !s.closed) {
      try {
        process.kill(-s.proc.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }

  killAll(): void {
    for (const id of [...this.sessions.keys()]) this.kill(id);
  }
}
