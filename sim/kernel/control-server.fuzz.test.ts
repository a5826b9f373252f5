// Fuzzing the sysfs server's control socket (JSON lines over a real unix socket): well-formed requests with fields
// missing, retyped or out of range, random JSON and random text. Every line gets exactly one answer, a JSON response
// (ok, or ok: false with an errno and a message); the server keeps serving that client and another one.
// 400 lines take about 5 s on a loaded 2-core machine; FUZZ_RUNS raises the count (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onLines } from '../lines.ts';
import { SysfsModel } from './model.ts';
import { serveControl } from './control-server.ts';
import { ControlClient } from './control-client.ts';
import { fuzzParams, mutatedValue, oddValue, type Json } from '../fuzz.ts';

const REQUESTS: Json[] = [
  { op: 'vf.set', pf: 'ens1f0', vf: 1, attrs: { mac: '02:00:00:00:00:01', vlan: 100, qos: 1, spoofchk: false, trust: true, linkState: 'disable', minTxRate: 0, maxTxRate: 100 } },
  { op: 'vf.list', pf: 'ens1f0' },
  { op: 'pf.list' },
  { op: 'fault.failWrites', path: '/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs', errno: 'EBUSY', count: 1 },
  { op: 'fault.delay', path: '/sys/class/net/ens1f0/device/sriov_numvfs', delayMs: 1, count: 1 },
  { op: 'vf.unplug', pciAddr: '0000:01:10.0' },
  { op: 'link.set', ifname: 'ens1f0', up: false },
  { op: 'events', since: 0 },
  { op: 'snapshot' },
  { op: 'fuse.stats' },
  { op: 'netdev.sync' },
];

const line = fc.oneof(
  { arbitrary: fc.constantFrom(...REQUESTS).chain((r) => mutatedValue(r)).map((v) => JSON.stringify(v)), weight: 6 },
  { arbitrary: fc.constantFrom(...REQUESTS).map((v) => JSON.stringify(v)), weight: 2 },
  { arbitrary: oddValue.map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: fc.string({ maxLength: 80 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 1 },
).map((l) => l.replace(/\n/g, ' '));

t.test('random lines on the control socket: one answer each, and the server goes on serving', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-ctl-fuzz-'));
  const socketPath = join(dir, 'control.sock');
  const model = new SysfsModel({ netdevNaming: 'predictable', nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 4 }] });
  const server = await serveControl(model, socketPath);
  const sock: Socket = connect(socketPath);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const answers: string[] = [];
  let wake: (() => void) | undefined;
  onLines(sock, (l) => {
    answers.push(l);
    wake?.();
  });
  const next = (): Promise<string> =>
    answers.length ? Promise.resolve(answers.shift()!) : new Promise((r) => (wake = () => ((wake = undefined), r(answers.shift()!))));
  const other = new ControlClient(socketPath);
  t.teardown(async () => {
    other.close();
    sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(line, async (l) => {
      if (!l.trim()) return; // a blank line is no request
      sock.write(`${l}\n`);
      const answer = await next();
      let res: { ok?: unknown; errno?: unknown; message?: unknown };
      try {
        res = JSON.parse(answer) as typeof res;
      } catch {
        throw new Error(`the answer is not JSON: ${answer}`);
      }
      if (res.ok !== true && res.ok !== false) throw new Error(`no ok: ${answer}`);
      if (res.ok === false) {
        refused++;
        if (typeof res.errno !== 'string' || typeof res.message !== 'string' || !res.message) throw new Error(`a refusal without errno or message: ${answer}`);
      }
      // the other client is still served
      await other.request({ op: 'events', since: 0 });
    }),
    fuzzParams(400),
  );
  t.ok(refused > 0, `${refused} requests were refused with an errno`);
  t.match(await other.request({ op: 'pf.list' }), { ok: true }, 'still serving after all of it');
});
