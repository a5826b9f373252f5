// The daemon's control protocol: JSON lines over a unix socket. Each request line gets one response line, in order.
// get, describe, apply and delete go to the cluster's Kubernetes API instead (harness/cli/kube-api.ts). Commands that
// run a process for the user (exec, node exec) get the argv back and run it themselves, with the user's terminal.
import { createConnection } from 'node:net';

export type DaemonRequest =
  | { op: 'status' }
  | { op: 'logs'; source: 'device-plugin' | 'kubelet'; node: string; tail?: number; since?: number }
  | { op: 'exec-target'; pod: string; namespace?: string; container?: string }
  | { op: 'node-target'; node: string }
  | { op: 'restart'; component: 'kubelet' | 'device-plugin'; node: string }
  | { op: 'shutdown' };

/** What a printing command produced: written by the CLI as is. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type DaemonPhase = 'starting' | 'ready' | 'failed' | 'stopping';

export interface DaemonStatus {
  phase: DaemonPhase;
  pid: number;
  stateDir: string;
  workDir: string;
  log: string;
  seed: number;
  topology: string;
  /** progress lines since start-up, in order */
  progress: string[];
  warnings: string[];
  error?: string;
  /** the Kubernetes API server's URL and its kubeconfig, once it listens */
  apiServer?: string;
  kubeconfig?: string;
  nodes: Array<{ name: string; allocatable: Record<string, string>; lightweight?: boolean }>;
}

export interface LogsResult {
  lines: string[];
  /** pass back as `since` to get only newer lines */
  next: number;
}

/** argv prefix (and environment) that runs a command where the user asked: in a node, or in a pod's netns. */
export interface ExecTarget {
  argv: string[];
  env: Record<string, string>;
}

export interface ResultOf {
  status: DaemonStatus;
  logs: LogsResult;
  'exec-target': ExecTarget;
  'node-target': ExecTarget;
  restart: CommandOutput;
  shutdown: { stopping: true };
}

export type DaemonResponse = { ok: true; result: unknown } | { ok: false; error: { name: string; message: string } };

/** The daemon answered with an error (a wrong node name, a missing pod…): the message is meant for the user. */
export class DaemonRequestError extends Error {
  readonly op: string;
  readonly errorName: string;
  constructor(op: string, errorName: string, message: string) {
    super(message);
    this.name = 'DaemonRequestError';
    this.op = op;
    this.errorName = errorName;
  }
}

/** The daemon could not be reached (not running, or died while answering). */
export class DaemonUnreachableError extends Error {
  readonly socket: string;
  readonly code: string | undefined;
  constructor(socket: string, message: string, code?: string) {
    super(message);
    this.name = 'DaemonUnreachableError';
    this.socket = socket;
    this.code = code;
  }
}

/** Sends one request and resolves with its result. */
export function request<R extends DaemonRequest>(socket: string, req: R, opts: { timeoutMs?: number } = {}): Promise<ResultOf[R['op']]> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn.destroy();
      f();
    };
    const timer = setTimeout(
      () => finish(() => reject(new DaemonUnreachableError(socket, `the cluster daemon did not answer "${req.op}" within ${timeoutMs}ms (socket ${socket})`, 'ETIMEDOUT'))),
      timeoutMs,
    );
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let resp: DaemonResponse;
      try {
        resp = JSON.parse(buf.slice(0, nl)) as DaemonResponse;
      } catch (e) {
        finish(() => reject(new DaemonUnreachableError(socket, `the cluster daemon sent a malformed answer to "${req.op}": ${(e as Error).message}`)));
        return;
      }
      finish(() => {
        if (resp.ok) resolve(resp.result as ResultOf[R['op']]);
        else reject(new DaemonRequestError(req.op, resp.error.name, resp.error.message));
      });
    });
    conn.on('error', (e: NodeJS.ErrnoException) =>
      finish(() => reject(new DaemonUnreachableError(socket, `cannot reach the cluster daemon at ${socket}: ${e.code ?? e.message}`, e.code))),
    );
    conn.on('close', () => finish(() => reject(new DaemonUnreachableError(socket, `the cluster daemon closed the connection before answering "${req.op}"`, 'ECONNRESET'))));
  });
}
