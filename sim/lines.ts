// A byte stream (unix or TCP socket) as lines: the JSON-lines protocols of the control socket, the guest agent and
// node-rpc all read their peer this way.

/** Calls `cb` with each complete line (without its "\n") as data arrives; a partial line waits for the rest. */
export function onLines(stream: { setEncoding(e: BufferEncoding): unknown; on(ev: 'data', cb: (d: string) => void): unknown }, cb: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      cb(line);
    }
  });
}
