// The host side of the guest agent's line protocol (see guest-files.ts): connects to QEMU's unix socket for the
// virtio-serial port, handshakes (retrying, because bytes sent before the guest opened its port can be lost) and
// matches replies to requests by id.
import { connect, type Socket } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { onLines } from '../../sim/lines.ts';
import { AGENT_VERSION } from './guest-files.ts';

export class AgentError extends Error {
  constructor(
    message: string,
    readonly socketPath: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

const b64 = (s: string | Buffer): string => {
  const e = Buffer.from(s).toString('base64');
  return e === '' ? '-' : e;
};
const unb64 = (s: string | undefined): Buffer => (s === undefined || s === '-' ? Buffer.alloc(0) : Buffer.from(s, 'base64'));

export interface RawExecReply {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export type FileReply = { ok: true; data: Buffer } | { ok: false; message: string };

export class AgentClient {
  private sock: Socket | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, (fields: string[]) => void>();
  private closedError: Error | undefined;
  private hello: ((f: string[]) => void) | undefined;

  /** payloads above this size go through `xferDir` (a host folder the guest mounts) instead of the line */
  static readonly inlineLimit = 32 * 1024;
  private nextBlob = 1;

  constructor(
    readonly socketPath: string,
    readonly xferDir?: string,
  ) {}

  /** The field for a payload: base64 inline, or "@file" written to the shared xfer folder; `done` removes it. */
  private payload(data: string | Buffer): { field: string; done: () => void } {
    const buf = Buffer.from(data);
    if (!this.xferDir || buf.length <= AgentClient.inlineLimit) return { field: b64(buf), done: () => undefined };
    const name = `p${process.pid}-${this.nextBlob++}`;
    const path = join(this.xferDir, name);
    writeFileSync(path, buf);
    return { field: `@${name}`, done: () => rmSync(path, { force: true }) };
  }

  /** Connects and handshakes; retries until `timeoutMs` (the guest may still be booting). `isDead` aborts early. */
  async connect(opts: { timeoutMs: number; isDead?: () => string | undefined }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const dead = opts.isDead?.();
      if (dead) throw new AgentError(dead, this.socketPath);
      if (Date.now() > deadline) throw new AgentError(`guest agent did not answer on ${this.socketPath} after ${opts.timeoutMs}ms`, this.socketPath);
      const s = await new Promise<Socket | undefined>((resolve) => {
        const c = connect(this.socketPath);
        c.once('connect', () => resolve(c));
        c.once('error', () => resolve(undefined));
      });
      if (!s) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.attach(s);
      const nonce = randomBytes(6).toString('hex');
      const answered = new Promise<string[]>((resolve) => (this.hello = (f) => f[1] === nonce && resolve(f)));
      for (;;) {
        s.write(`HELLO ${nonce}\n`);
        const r = await Promise.race([answered, new Promise<undefined>((res) => setTimeout(() => res(undefined), 300))]);
        if (r) {
          this.hello = undefined;
          if (r[2] !== AGENT_VERSION) throw new AgentError(`guest agent version ${r[2]}, expected ${AGENT_VERSION}: rebuild the artefacts (sriov-lab vm build)`, this.socketPath);
          return;
        }
        if (this.closedError) break;
        const dead2 = opts.isDead?.();
        if (dead2) throw new AgentError(dead2, this.socketPath);
        if (Date.now() > deadline) throw new AgentError(`guest agent did not answer on ${this.socketPath} after ${opts.timeoutMs}ms`, this.socketPath);
      }
      this.closedError = undefined;
    }
  }

  private attach(s: Socket): void {
    this.sock = s;
    this.closedError = undefined;
    onLines(s, (line) => this.onLine(line.replace(/\r$/, '')));
    const closed = (e?: Error): void => {
      if (this.sock !== s) return;
      this.closedError = e ?? new AgentError(`guest agent connection ${this.socketPath} closed`, this.socketPath);
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const w of waiting) w(['CLOSED']);
    };
    s.on('close', () => closed());
    s.on('error', (e) => closed(new AgentError(`guest agent connection ${this.socketPath}: ${e.message}`, this.socketPath)));
  }

  private onLine(line: string): void {
    const f = line.split(' ');
    if (f[0] === 'HELLO') {
      this.hello?.(f);
      return;
    }
    const cb = this.pending.get(f[1]);
    if (cb) {
      this.pending.delete(f[1]);
      cb(f);
    }
  }

  private request(fields: (id: string) => string[]): { id: string; reply: Promise<string[]> } {
    if (!this.sock || this.closedError) throw this.closedError ?? new AgentError('guest agent not connected', this.socketPath);
    const id = `r${this.nextId++}`;
    const reply = new Promise<string[]>((resolve, reject) => {
      this.pending.set(id, (f) => (f[0] === 'CLOSED' ? reject(this.closedError) : resolve(f)));
    });
    this.sock.write(`${fields(id).join(' ')}\n`);
    return { id, reply };
  }

  /** Runs a shell script (in the chroot or the initramfs); `timeoutMs` kills its process group with SIGKILL. */
  async exec(script: string, opts: { input?: string | Buffer; where: 'chroot' | 'guest'; timeoutMs?: number }): Promise<RawExecReply & { timedOut: boolean }> {
    const input = this.payload(opts.input ?? '');
    let req: { id: string; reply: Promise<string[]> };
    try {
      req = this.request((rid) => ['EXEC', rid, b64(script), input.field, opts.where]);
    } catch (e) {
      input.done();
      throw e;
    }
    const { id, reply } = req;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        this.sock?.write(`KILL ${id} KILL\n`);
      }, opts.timeoutMs);
    }
    try {
      const f = await reply;
      return { exitCode: Number(f[2]), stdout: unb64(f[3]), stderr: unb64(f[4]), timedOut };
    } finally {
      clearTimeout(timer);
      input.done();
    }
  }

  /** Sends a signal to the process group of a running exec. */
  kill(id: string, signal: string): void {
    this.sock?.write(`KILL ${id} ${signal}\n`);
  }

  async readFile(path: string): Promise<FileReply> {
    const f = await this.request((id) => ['READ', id, b64(path)]).reply;
    return f[2] === '0' ? { ok: true, data: unb64(f[3]) } : { ok: false, message: unb64(f[3]).toString().trim() };
  }

  async writeFile(path: string, data: string | Buffer): Promise<{ ok: true } | { ok: false; message: string }> {
    const p = this.payload(data);
    let f: string[];
    try {
      f = await this.request((id) => ['WRITE', id, b64(path), p.field]).reply;
    } finally {
      p.done();
    }
    return f[2] === '0' ? { ok: true } : { ok: false, message: unb64(f[3]).toString().trim() };
  }

  close(): void {
    const s = this.sock;
    this.sock = undefined;
    s?.destroy();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.closedError = new AgentError('guest agent connection closed by us', this.socketPath);
    for (const w of waiting) w(['CLOSED']);
  }
}
