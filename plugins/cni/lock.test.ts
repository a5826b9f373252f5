import t from 'tap';
import { spawn } from 'node:child_process';
import { acquireLock } from './lock.ts';

const ns = `sl-lock-test-${process.pid}`;

t.test('a second holder waits until the first releases', async (t) => {
  const a = await acquireLock('0000:01:10.0', { namespace: ns });
  const order: string[] = [];
  const b = acquireLock('0000:01:10.0', { namespace: ns, timeoutMs: 10_000 }).then((l) => {
    order.push('b acquired');
    return l;
  });
  await new Promise((r) => setTimeout(r, 100));
  order.push('a releases');
  await a.release();
  await (await b).release();
  t.strictSame(order, ['a releases', 'b acquired']);
  // another key is independent
  const c = await acquireLock('0000:01:10.1', { namespace: ns });
  const d = await acquireLock('0000:01:10.2', { namespace: ns });
  await c.release();
  await d.release();
});

t.test('timing out reports "try again later" (11) naming the device', async (t) => {
  const a = await acquireLock('dev-x', { namespace: ns });
  t.teardown(() => a.release());
  await t.rejects(acquireLock('dev-x', { namespace: ns, timeoutMs: 50 }), { code: 11, message: /device dev-x is locked by another CNI call/ });
});

t.test('a holder that is killed releases the lock (no stale lock files)', async (t) => {
  const name = `${ns}/killed`;
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen({path:'\\0${name}'},()=>console.log('held'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void holder.kill('SIGKILL'));
  await new Promise<void>((r) => holder.stdout!.once('data', () => r()));
  await t.rejects(acquireLock('killed', { namespace: ns, timeoutMs: 30 }), { code: 11 });
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  const l = await acquireLock('killed', { namespace: ns, timeoutMs: 2000 });
  await l.release();
  t.pass('acquired after the holder died');
});
