import t from 'tap';
import { matchExpectedFile } from './fixtures/expected-file.ts';
import { sampleRun } from './fixtures/sample-run.ts';
import { canonicalRunResult, jsonReporter, parseRunResult, RunResultError, serializeRunResult, validateRunResult } from './json.ts';
import { replay } from './reporter.ts';
import type { RunResult } from './types.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** the same object with every object's keys in reverse order */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  // payloads (request, response, env, fields) are kept as produced; only contract objects are reordered
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, ['request', 'response', 'env', 'fields'].includes(k) ? x : reverseKeys(x)]),
    );
  }
  return v;
}

t.test('sample run: golden file, written through the reporter hooks', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'nested', 'run.json');
  await replay(sampleRun(), jsonReporter({ outputFile: file }));
  const text = await readFile(file, 'utf8');
  matchExpectedFile(t, 'sample-run.json', text);
  t.same(parseRunResult(text), canonicalRunResult(sampleRun()), 'reads back to the same run');
});

t.test('key order is the contract order, whatever the producer built', async (t) => {
  const shuffled = reverseKeys(sampleRun()) as RunResult;
  t.equal(serializeRunResult(shuffled), serializeRunResult(sampleRun()));
  const withUndefined: RunResult = sampleRun();
  withUndefined.scenarios[0].skipReason = undefined;
  withUndefined.run.ci = undefined;
  t.notMatch(serializeRunResult(withUndefined), '"ci"', 'undefined fields are dropped');
  const first = serializeRunResult(sampleRun()).split('\n').slice(0, 4).join('\n');
  t.equal(first, '{\n  "schema": "sriov-lab/run-result",\n  "version": 1,\n  "run": {');
});

t.test('unknown trace kinds are kept; the reader ignores them', async (t) => {
  const run = sampleRun();
  (run.scenarios[0].trace as unknown[]).push({ kind: 'netlink', atMs: 5, msg: 'RTM_NEWLINK' });
  const back = parseRunResult(serializeRunResult(run));
  t.match(back.scenarios[0].trace.at(-1), { kind: 'netlink', msg: 'RTM_NEWLINK' });
});

type JsonObject = Record<string, unknown>;
/** The object at `path` (keys and indexes) in parsed JSON whose shape the case knows. */
function at(v: unknown, ...path: Array<string | number>): JsonObject {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v) as JsonObject;
}
function traceEvent(r: JsonObject, kind: string): JsonObject {
  return (at(r, 'scenarios', 0).trace as JsonObject[]).find((e) => e.kind === kind)!;
}

t.test('validation names the wrong field', async (t) => {
  const cases: Array<[string, (r: JsonObject) => void, string]> = [
    ['schema', (r) => (r.schema = 'other'), 'schema: expected "sriov-lab/run-result", found "other"'],
    ['version', (r) => (r.version = 2), 'version: expected 1 (this sriov-lab reads version 1 only), found 2'],
    ['backend', (r) => (at(r, 'run').backend = 'vmware'), 'run.backend: expected one of sim|qemu|host|cluster|kind, found "vmware"'],
    ['seed', (r) => (at(r, 'run').seed = '12'), 'run.seed: expected a number, found "12"'],
    ['status', (r) => (at(r, 'scenarios', 2).status = 'broken'), 'scenarios[2].status: expected one of passed|failed|skipped, found "broken"'],
    ['skip reason', (r) => delete at(r, 'scenarios', 3).skipReason, 'scenarios[3].skipReason: expected a reason for a skipped scenario, found nothing'],
    ['op status', (r) => (at(r, 'scenarios', 2, 'steps', 1, 'operations', 1).status = 'ok'), 'scenarios[2].steps[1].operations[1].status: expected one of passed|failed|skipped'],
    ['error line', (r) => (at(r, 'scenarios', 2, 'steps', 1, 'operations', 1, 'error', 'location').line = '42'), 'scenarios[2].steps[1].operations[1].error.location.line: expected a number'],
    ['cni exit', (r) => delete traceEvent(r, 'cni').exitCode, '.exitCode: expected a number, found nothing'],
    ['resource', (r) => (traceEvent(r, 'resource').allocated = null), '.allocated: expected a number, found null'],
    ['attachment', (r) => (at(r, 'scenarios', 2, 'attachments', 1).encoding = 'gzip'), 'scenarios[2].attachments[1].encoding: expected one of text|base64'],
  ];
  for (const [name, mutate, message] of cases) {
    const r = JSON.parse(serializeRunResult(sampleRun())) as JsonObject;
    mutate(r);
    t.throws(() => validateRunResult(r, 'run.json'), { name: 'RunResultError', message: new RegExp(`^run\\.json: ${message.startsWith('.') ? 'scenarios\\[0\\]\\.trace\\[\\d+\\]' : ''}${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }, name);
  }
  const err = t.throws(() => parseRunResult('{"schema":', 'x.json')) as RunResultError;
  t.equal(err.path, '');
  t.match(err.message, /^x\.json: \(root\): expected a JSON document/);
});
