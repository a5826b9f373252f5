// The server side of a WebSocket (RFC 6455), as far as the Kubernetes streaming protocols need it: the handshake,
// binary and text messages (fragmented or not, masked by the client), ping/pong and close. Small enough to own, and
// typed, where the ws package comes without types.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
/** a message larger than this closes the connection (1009): stdin comes in small pieces */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface WebSocketHandlers {
  message(data: Buffer): void;
  /** the peer closed, or the connection ended */
  close(): void;
}

export class ServerWebSocket {
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closed = false;
  private handlers: WebSocketHandlers | undefined;

  private constructor(private readonly socket: Duplex) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.ended());
    socket.on('error', () => this.ended());
  }

  /** Completes the handshake of an upgrade request with `protocol`; the first chunk (`head`) is read as frames. */
  static accept(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string): ServerWebSocket {
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const acceptKey = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey}`, `Sec-WebSocket-Protocol: ${protocol}`, '', ''].join('\r\n'));
    const ws = new ServerWebSocket(socket);
    if (head.length) setImmediate(() => ws.onData(head));
    return ws;
  }

  /** messages before on() are kept in the socket's buffer: on() is called at once after accept() */
  on(h: WebSocketHandlers): void {
    this.handlers = h;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send(data: Buffer): void {
    this.frame(OP.binary, data);
  }

  close(code = 1000): void {
    if (this.closed) return;
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    this.frame(OP.close, b);
    this.closed = true;
    this.socket.end();
    this.handlers?.close();
  }

  private frame(op: number, data: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const n = data.length;
    const header = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (n >= 126 && n < 65536) {
      header[0] = 0x80 | op;
      header[1] = 126;
      header.writeUInt16BE(n, 2);
    } else if (n >= 65536) {
      header[0] = 0x80 | op;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    this.socket.write(Buffer.concat([header, data]));
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.close();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const op = this.buf[0] & 0x0f;
      const masked = (this.buf[1] & 0x80) !== 0;
      let len = this.buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        const big = this.buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE_BYTES)) return this.close(1009);
        len = Number(big);
        at = 10;
      }
      const maskAt = at;
      if (masked) at += 4;
      if (this.buf.length < at + len) return;
      const payload = Buffer.from(this.buf.subarray(at, at + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= this.buf[maskAt + (i % 4)];
      this.buf = this.buf.subarray(at + len);
      if (op === OP.close) {
        this.close(1000);
        return;
      }
      if (op === OP.ping) {
        this.frame(OP.pong, payload);
        continue;
      }
      if (op === OP.pong) continue;
      this.fragments.push(payload);
      if (this.fragments.reduce((s, f) => s + f.length, 0) > MAX_MESSAGE_BYTES) return this.close(1009);
      if (fin) {
        const msg = Buffer.concat(this.fragments);
        this.fragments = [];
        this.handlers?.message(msg);
      }
    }
  }
}
