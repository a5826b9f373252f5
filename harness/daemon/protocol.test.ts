// The control protocol's client against a scripted server: results, refusals, and every way of not getting an answer.
import t from 'tap';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonRequestError, DaemonUnreachableError, request } from './protocol.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-proto-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A server answering each request line with what `reply` returns (a string is written raw; null hangs up). */
async function serve(name: string, reply: (req: { op: string }) => string | null | undefined): Promise<{ socket: string; server: Server; seen: string[] }> {
  const socket = join(dir, name);
  const seen: string[] = [];
  const server = createServer((s) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      seen.push(line);
      const r = reply(JSON.parse(line) as { op: string });
      if (r === null) s.destroy();
      else if (r !== undefined) s.write(r);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { socket, server, seen };
}

t.test('a result comes back for the request sent as one JSON line', async (t) => {
  const s = await serve('ok.sock', () => `${JSON.stringify({ ok: true, result: { stdout: 'NAME\n', stderr: '', exitCode: 0 } })}\n`);
  const r = await request(s.socket, { op: 'restart', component: 'kubelet', node: 'node1' });
  t.same(r, { stdout: 'NAME\n', stderr: '', exitCode: 0 });
  t.same(s.seen.map((l) => JSON.parse(l)), [{ op: 'restart', component: 'kubelet', node: 'node1' }]);
});

t.test('an answer split over several writes is put together', async (t) => {
  const s = await serve('split.sock', () => undefined);
  s.server.removeAllListeners('connection');
  s.server.on('connection', (c) => {
    c.once('data', () => {
      c.write('{"ok":true,"res');
      setImmediate(() => c.write('ult":{"lines":["a"],"next":1}}\n'));
    });
  });
  t.same(await request(s.socket, { op: 'logs', source: 'kubelet', node: 'node1' }), { lines: ['a'], next: 1 });
});

t.test('a refusal is a DaemonRequestError carrying the message to print', async (t) => {
  const s = await serve('err.sock', () => `${JSON.stringify({ ok: false, error: { name: 'StoreError', message: 'Error from server (NotFound): nodes "x" not found' } })}\n`);
  const e = await request(s.socket, { op: 'node-target', node: 'x' }).catch((e: unknown) => e);
  t.ok(e instanceof DaemonRequestError);
  t.match(e, { op: 'node-target', errorName: 'StoreError', message: 'Error from server (NotFound): nodes "x" not found' });
});

t.test('no daemon, a hang-up, garbage and silence are DaemonUnreachableError with a code', async (t) => {
  const missing = await request(join(dir, 'nothing.sock'), { op: 'status' }).catch((e: unknown) => e);
  t.ok(missing instanceof DaemonUnreachableError);
  t.equal((missing as DaemonUnreachableError).code, 'ENOENT');
  t.match((missing as Error).message, /cannot reach the cluster daemon at .*nothing\.sock: ENOENT/);

  const hang = await serve('hang.sock', () => null);
  const closed = await request(hang.socket, { op: 'status' }).catch((e: unknown) => e);
  t.ok(closed instanceof DaemonUnreachableError);
  t.match((closed as Error).message, /closed the connection before answering "status"/);

  const bad = await serve('bad.sock', () => 'not json\n');
  const garbage = await request(bad.socket, { op: 'status' }).catch((e: unknown) => e);
  t.ok(garbage instanceof DaemonUnreachableError);
  t.match((garbage as Error).message, /malformed answer to "status"/);

  const mute = await serve('mute.sock', () => undefined);
  const silent = await request(mute.socket, { op: 'status' }, { timeoutMs: 50 }).catch((e: unknown) => e);
  t.ok(silent instanceof DaemonUnreachableError);
  t.equal((silent as DaemonUnreachableError).code, 'ETIMEDOUT');
  t.match((silent as Error).message, /did not answer "status" within 50ms/);
});
