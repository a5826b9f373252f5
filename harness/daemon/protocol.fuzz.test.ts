// Fuzzing the cluster daemon's JSON-lines control socket: requests of every op (shutdown aside, which ends the
// daemon as it should) with fields missing, retyped or swapped, random JSON and random text, on the daemon's own
// socket server. Every line gets exactly one answer, {ok: true, result} or {ok: false, error: {name, message}}, and
// the daemon goes on serving: status still answers after all of it. The daemon is not booted (no cluster: that
// takes a minute and root), so requests for nodes and pods are refused as "still starting", as a real one does
// early on; what is fuzzed is the line protocol and the dispatch.
// 400 lines take about 3 s on a loaded 2-core machine; FUZZ_RUNS raises the count (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterDaemon } from './daemon.ts';
import { request } from './protocol.ts';
import { daemonPaths } from './state.ts';
import { fuzzParams, mutatedValue, oddValue, type Json } from '../../sim/fuzz.ts';

const REQUESTS: Json[] = [
  { op: 'status' },
  { op: 'logs', source: 'kubelet', node: 'node1', tail: 10, since: 0 },
  { op: 'exec-target', pod: 'p', namespace: 'default', container: 'c' },
  { op: 'node-target', node: 'node1' },
  { op: 'restart', component: 'device-plugin', node: 'node1' },
];

const line = fc
  .oneof(
    { arbitrary: fc.constantFrom(...REQUESTS).chain((r) => mutatedValue(r)).map((v) => JSON.stringify(v)), weight: 6 },
    { arbitrary: oddValue.map((v) => JSON.stringify(v)), weight: 1 },
    { arbitrary: fc.string({ maxLength: 80 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 1 },
  )
  .map((l) => l.replace(/\n/g, ' '))
  // shutdown is a request the daemon must obey
  .filter((l) => !l.includes('shutdown'));

t.test('random lines on the daemon socket: one answer each, and the daemon goes on serving', async (t) => {
  // short: a unix socket path has at most 107 bytes
  const stateDir = mkdtempSync(join(tmpdir(), 'sl-dfuzz-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  const paths = daemonPaths(stateDir);
  const info = { pid: process.pid, id: 'fuzz', stateDir, workDir: join(stateDir, 'work'), socket: paths.socket, log: paths.log, startedAt: new Date().toISOString(), netns: [] };
  const daemon = new ClusterDaemon(paths, info, { seed: 1, readyTimeoutMs: 1000 }, () => undefined);
  // the control socket alone, as run() opens it before it boots the cluster
  await (daemon as unknown as { listen(): Promise<void> }).listen();
  t.teardown(() => daemon.stop());
  const sock: Socket = connect(paths.socket);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  t.teardown(() => sock.destroy());
  sock.setEncoding('utf8');
  let buf = '';
  let wake: (() => void) | undefined;
  sock.on('data', (d: string) => {
    buf += d;
    wake?.();
  });
  const next = async (): Promise<string> => {
    while (!buf.includes('\n')) await new Promise<void>((r) => (wake = r));
    const i = buf.indexOf('\n');
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return l;
  };
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(line, async (l) => {
      if (!l.trim()) return;
      sock.write(`${l}\n`);
      const answer = await next();
      let res: { ok?: unknown; result?: unknown; error?: { name?: unknown; message?: unknown } };
      try {
        res = JSON.parse(answer) as typeof res;
      } catch {
        throw new Error(`the answer is not JSON: ${answer}`);
      }
      if (res.ok === true) return;
      if (res.ok !== false || typeof res.error?.name !== 'string' || typeof res.error.message !== 'string' || !res.error.message) throw new Error(`not a response: ${answer}`);
      refused++;
    }),
    fuzzParams(400),
  );
  t.ok(refused > 0, `${refused} requests were refused`);
  t.match(await request(paths.socket, { op: 'status' }), { phase: 'starting', pid: process.pid }, 'status still answers');
});
