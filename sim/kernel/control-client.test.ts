// The control socket's client: one connection however many requests are made at once, none after close.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onLines } from '../lines.ts';
import { ControlClient } from './control-client.ts';

async function fakeServer(t: { teardown(f: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'sl-ctl-'));
  const path = join(dir, 'ctl.sock');
  const conns: Socket[] = [];
  const server = createServer((sock) => {
    conns.push(sock);
    onLines(sock, () => sock.write(`${JSON.stringify({ ok: true, events: [] })}\n`));
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.teardown(async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, conns };
}

t.test('requests made at once share one connection', async (t) => {
  const { path, conns } = await fakeServer(t);
  const c = new ControlClient(path);
  const replies = await Promise.all([c.request({ op: 'pf.list' }), c.request({ op: 'events', since: 0 }), c.request({ op: 'pf.list' })]);
  t.equal(replies.length, 3);
  t.ok(replies.every((r) => r.ok));
  t.equal(conns.length, 1, 'one connection for three concurrent requests');
  c.close();
});

t.test('a request after close fails and opens nothing that stays', async (t) => {
  const { path, conns } = await fakeServer(t);
  const c = new ControlClient(path);
  await c.request({ op: 'pf.list' });
  c.close();
  await t.rejects(c.request({ op: 'pf.list' }), /the client is closed/);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(conns.filter((s) => !s.destroyed && !s.readableEnded).length, 0, 'no connection left open');
});
