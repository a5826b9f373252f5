// Client side of the control socket (used by the harness, the node runtime and tests).
import { connect, type Socket } from 'node:net';
import type { ControlRequest, ControlResponse } from './types.ts';
import { onLines } from '../lines.ts';

export class ControlError extends Error {
  readonly errno: string;
  readonly request: ControlRequest;
  constructor(request: ControlRequest, errno: string, message: string) {
    super(`${request.op}: ${message}`);
    this.name = 'ControlError';
    this.errno = errno;
    this.request = request;
  }
}

export class ControlClient {
  private sock: Socket | null = null;
  private waiting: Array<(r: ControlResponse) => void> = [];
  constructor(readonly socketPath: string) {}

  /** the connection being made: requests made meanwhile wait for it instead of each opening one of its own */
  private connecting: Promise<Socket> | null = null;

  private connection(): Promise<Socket> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve(this.sock);
    // two requests at once (the trace poll and a step's request) used to open two connections, and the one not kept
    // was never closed: it held the harness process open after the run
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<Socket> {
    const sock = connect(this.socketPath);
    onLines(sock, (line) => this.waiting.shift()?.(JSON.parse(line) as ControlResponse));
    const fail = () => {
      const w = this.waiting;
      this.waiting = [];
      for (const r of w) r({ ok: false, errno: 'EIO', message: `control socket ${this.socketPath} closed` });
    };
    sock.on('close', fail);
    sock.on('error', fail);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    if (this.closed) {
      sock.destroy();
      throw new Error(`control socket ${this.socketPath}: the client is closed`);
    }
    this.sock = sock;
    return sock;
  }

  /** Sends a request; resolves with the response, or rejects with a ControlError carrying the errno. */
  async request(req: ControlRequest): Promise<Extract<ControlResponse, { ok: true }>> {
    const sock = await this.connection();
    const res = await new Promise<ControlResponse>((resolve) => {
      this.waiting.push(resolve);
      sock.write(`${JSON.stringify(req)}\n`);
    });
    if (!res.ok) throw new ControlError(req, res.errno, res.message);
    return res;
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.sock?.destroy();
    this.sock = null;
  }
}
