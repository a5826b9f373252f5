// Fuzzing the CNI plugin's input: CNI_* environments with values missing, empty, malformed or huge, and network
// configurations (an sriov and a host-device config using every field, mutated; broken JSON; binary; random text).
// In process, parseEnv and parseNetConf accept or throw a CniError with a CNI error code and a msg; through the
// real entry (the bundled executable, as a runtime runs it) every failure is CNI error JSON on stdout with a code,
// a msg and the cniVersion, exit status 1, never an "internal error".
// 2000 in-process cases take about 3 s, 60 processes about 30 s on a loaded 2-core machine; FUZZ_RUNS raises both
// (the process count is a twentieth of it; docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv, parseNetConf } from './config.ts';
import { CNI_CODES, CniError } from './errors.ts';
import { pluginBundle } from './test-node.ts';
import { binaryText, brokenText, fuzzParams, mutatedValue, oddValue, type Json } from '../../sim/fuzz.ts';

const sriov: Json = {
  cniVersion: '1.0.0', name: 'sriov-net', type: 'sriov', deviceID: '0000:01:10.0', pciBusID: '0000:01:10.0', vlan: 100, vlanQoS: 2, vlanProto: '802.1q',
  mac: '02:00:00:00:00:01', spoofchk: 'on', trust: 'off', link_state: 'enable', min_tx_rate: 10, max_tx_rate: 100, mtu: 1500, logLevel: 'debug',
  ipam: { type: 'host-local', subnet: '10.56.217.0/24', routes: [{ dst: '0.0.0.0/0' }] }, runtimeConfig: { mac: '02:00:00:00:00:02', deviceID: '0000:01:10.0' },
  prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'net1', sandbox: '/run/netns/x' }], ips: [{ address: '10.56.217.2/24', interface: 0 }], routes: [{ dst: '0.0.0.0/0' }], dns: {} },
  'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'net1' }],
};
const hostDevice: Json = { cniVersion: '1.1.0', name: 'hd', type: 'host-device', device: 'eth1', ipam: {} };
const CODES = new Set<number>(Object.values(CNI_CODES));

const envValue = (good: string[]) => fc.option(fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 4 }, fc.constantFrom('', ' ', 'x'.repeat(300), '\t', '../..', 'a=b;c', '0'), fc.string({ maxLength: 20 })), { nil: undefined, freq: 6 });
const fuzzedEnv = fc.record({
  CNI_COMMAND: envValue(['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC', 'add', 'UPDATE']),
  CNI_CONTAINERID: envValue(['c1', 'abc-123.x_y', '-bad', 'a b']),
  CNI_NETNS: envValue(['/run/netns/sl-fuzz-none', '/proc/self/ns/net-none']),
  CNI_IFNAME: envValue(['net1', 'eth0', 'a-very-long-ifname', 'a/b', '..']),
  CNI_ARGS: envValue(['IgnoreUnknown=1', 'MAC=02:00:00:00:00:03', 'MAC=ff:ff:ff:ff:ff:ff', 'K8S_POD_NAME=p;K8S_POD_NAMESPACE=default', 'novalue', '=x', ';;']),
  CNI_PATH: envValue(['/nonexistent', '']),
});
/** mostly a good environment, so that most cases reach the config */
const cniEnv = fc.oneof(
  { arbitrary: fc.record({ CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'), CNI_CONTAINERID: fc.constant('c1'), CNI_NETNS: fc.constant('/run/netns/sl-fuzz-none'), CNI_IFNAME: fc.constant('net1'), CNI_ARGS: fc.constantFrom(undefined, 'IgnoreUnknown=1;K8S_POD_NAME=p', 'MAC=02:00:00:00:00:03') }), weight: 3 },
  { arbitrary: fuzzedEnv, weight: 1 },
);
const stdin = fc.oneof(
  { arbitrary: mutatedValue(sriov).map((v) => JSON.stringify(v)), weight: 6 },
  { arbitrary: mutatedValue(hostDevice).map((v) => JSON.stringify(v)), weight: 3 },
  { arbitrary: brokenText(JSON.stringify(sriov)), weight: 2 },
  { arbitrary: oddValue.map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: fc.oneof(binaryText, fc.string({ maxLength: 100 })), weight: 1 },
);

type Env = Record<string, string | undefined>;
const defined = (e: Env): Record<string, string> => Object.fromEntries(Object.entries(e).filter((kv): kv is [string, string] => kv[1] !== undefined));

/** what is wrong with a thrown error: a CniError with a known code and a msg, else a description */
function cniProblem(e: unknown): string | undefined {
  if (!(e instanceof CniError)) return `not a CniError: ${(e as Error).stack ?? String(e)}`;
  if (!CODES.has(e.code)) return `code ${e.code} is not a CNI error code: ${e.message}`;
  if (typeof e.msg !== 'string' || !e.msg.trim()) return `no msg: ${JSON.stringify(e)}`;
  return undefined;
}

t.test('in process: a random environment and config are accepted or a CniError with a CNI code and msg', async (t) => {
  const codes = new Map<number, number>();
  fc.assert(
    fc.property(cniEnv, stdin, (env, text) => {
      try {
        const parsed = parseEnv(defined(env));
        if (parsed.command !== 'VERSION') parseNetConf(text, parsed);
      } catch (e) {
        const p = cniProblem(e);
        if (p) throw new Error(p);
        const code = (e as CniError).code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code === CNI_CODES.invalidEnv && !/CNI_/.test((e as CniError).msg)) throw new Error(`an environment error that names no variable: ${(e as CniError).msg}`);
      }
    }),
    fuzzParams(2000),
  );
  for (const code of [CNI_CODES.invalidEnv, CNI_CODES.invalidConfig, CNI_CODES.decode]) t.ok(codes.get(code), `code ${code} seen (${JSON.stringify(Object.fromEntries(codes))})`);
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runIn(argv: string[], env: Record<string, string>, input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

const isRoot = process.getuid?.() === 0;
t.test('through the real entry: every failure is CNI error JSON with a code and msg, exit status 1', { skip: isRoot ? false : 'needs root: each call runs in a network namespace of its own (unshare -n), so nothing of this machine is touched' }, async (t) => {
  const bundle = await pluginBundle();
  const work = mkdtempSync(join(tmpdir(), 'sl-cni-fuzz-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // an empty sysfs, cache and CNI_PATH, in a throwaway network namespace: a config that passes every check still
  // finds no device, and a host-device ADD sees only the namespace's lo
  const fixed = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SRIOV_LAB_SYSFS_ROOT: join(work, 'sys'), SRIOV_LAB_CNI_CACHE_DIR: join(work, 'cache'), SRIOV_LAB_CNI_LOCK_TIMEOUT_MS: '2000' };
  const params = fuzzParams(1200);
  let failures = 0;
  await fc.assert(
    fc.asyncProperty(cniEnv, stdin, async (env, text) => {
      const r = await runIn(['unshare', '-n', '--', process.execPath, bundle], { ...defined(env), ...fixed, CNI_PATH: join(work, 'bin') }, text);
      if (r.status === null) throw new Error(`killed after 30 s: ${r.stderr}`);
      if (r.status === 0) return;
      failures++;
      if (r.status !== 1) throw new Error(`exit status ${r.status}: ${r.stdout}${r.stderr}`);
      let out: { cniVersion?: unknown; code?: unknown; msg?: unknown; details?: unknown };
      try {
        out = JSON.parse(r.stdout) as typeof out;
      } catch {
        throw new Error(`stdout is not JSON: ${JSON.stringify(r.stdout)} (stderr ${r.stderr})`);
      }
      if (typeof out.code !== 'number' || !CODES.has(out.code)) throw new Error(`no CNI error code: ${r.stdout}`);
      if (typeof out.msg !== 'string' || !out.msg.trim()) throw new Error(`no msg: ${r.stdout}`);
      if (typeof out.cniVersion !== 'string') throw new Error(`no cniVersion: ${r.stdout}`);
      if (out.msg === 'internal error') throw new Error(`an internal error: ${r.stdout}`);
    }),
    { ...params, numRuns: Math.max(1, Math.round(params.numRuns / 20)) },
  );
  t.ok(failures > 0, `${failures} calls failed with CNI error JSON`);
});
