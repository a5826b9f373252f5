// `sriov-lab run` on GitHub (GITHUB_ACTIONS=true, or --github): a passing and a failing scenario against the fake
// cluster, with temporary $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT files. Checks the log groups, the annotations
// (file, line, message), the summary, the outputs and the exit code; and that none of it appears without GitHub.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './command.ts';
import { fakeBackend, fakeClock, type FakeClusterTable } from './fixtures/fake-cluster.ts';
import { createBackendRegistry } from './registry.ts';
import { parseOutputFile } from '../../reports/fixtures/github-output.ts';

const head = (name: string) => `apiVersion: sriov-lab.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n`;

// a pod named "a" that stays Pending: the assert on line 9 of pod.yaml fails, the sleep scenario passes
const TABLE: FakeClusterTable = { objects: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, status: { phase: 'Pending' } }] };

function setup(t: Test, env: Record<string, string> = {}) {
  const registry = createBackendRegistry();
  registry.register(fakeBackend(TABLE, fakeClock()));
  const dir = t.testdir({
    suite: {
      'ok.yaml': `${head('sleeps')}  steps: [{ name: s, try: [{ sleep: 1 }] }]\n`,
      'pod.yaml': `${head('pod-runs')}  steps:\n    - name: running\n      try:\n        - assert: { timeoutMs: 100, resource: { kind: Pod, metadata: { name: a }, status: { phase: Running } } }\n`,
    },
    'summary.md': '# earlier step output\n',
    'output.txt': '',
  });
  let out = '';
  let err = '';
  const fullEnv = { GITHUB_STEP_SUMMARY: join(dir, 'summary.md'), GITHUB_OUTPUT: join(dir, 'output.txt'), GITHUB_WORKSPACE: dir, ...env };
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, registry, clock: fakeClock(), cwd: dir, env: fullEnv };
  return { dir, io, out: () => out, err: () => err };
}

t.test('GITHUB_ACTIONS=true: groups, annotations, summary, outputs, exit code 1', async (t) => {
  const h = setup(t, { GITHUB_ACTIONS: 'true' });
  const code = await runCommand([join(h.dir, 'suite'), '--seed', '5', '--junit', join(h.dir, 'out/junit.xml'), '--json', join(h.dir, 'out/run.json')], h.io);
  t.equal(code, 1, 'a failing scenario fails the step');
  const out = h.out();

  // one log group per scenario, each closed, the scenario's line after it
  const groups = [...out.matchAll(/^::group::(.*)$/gm)].map((m) => m[1]);
  t.same(groups, ['sleeps (suite/ok.yaml)', 'pod-runs (suite/pod.yaml)']);
  t.equal([...out.matchAll(/^::endgroup::$/gm)].length, 2);
  t.match(out, /::group::pod-runs \(suite\/pod\.yaml\)\n\[failed\] running[\s\S]*?::endgroup::\n {2}✗ suite\/pod\.yaml › pod-runs/, 'the group holds the log, the scenario line follows');

  // one annotation, at the failed assert: file relative to the workspace, its line and column, the error message
  const errors = out.split('\n').filter((l) => l.startsWith('::error '));
  t.equal(errors.length, 1, errors.join('\n'));
  const m = /^::error file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.*)$/.exec(errors[0]);
  t.ok(m, errors[0]);
  t.equal(m?.[1], 'suite/pod.yaml');
  t.equal(m?.[2], '9');
  t.equal(m?.[3], '11');
  t.equal(decodeURIComponent(m?.[4] ?? ''), 'pod-runs › running › assert pod/a', 'title: scenario › step › operation, escaped as a property');
  const message = decodeURIComponent(m?.[5] ?? '');
  t.match(message, /^WaitTimeoutError: /, 'the message starts with the error');
  t.match(message, /phase: Running/, 'and holds the diff (its newlines escaped as %0A)');
  t.notMatch(m?.[5] ?? '', /\n/);

  // the summary is appended after what was there, with the failure and where it is
  const summary = readFileSync(join(h.dir, 'summary.md'), 'utf8');
  t.ok(summary.startsWith('# earlier step output\n## ❌ sriov-lab scenarios'), summary.slice(0, 80));
  t.match(summary, '| 2 | 1 | 1 | 0 |');
  t.match(summary, '### ❌ pod-runs');
  t.match(summary, /suite\/pod\.yaml:9:11`\)/);
  t.match(summary, 'status.phase: expected "Running", got "Pending"');
  t.match(summary, 'sriov-lab run suite/pod.yaml --seed 5 --backend sim');
  t.notMatch(summary, 'This summary was cut');

  const outputs = parseOutputFile(readFileSync(join(h.dir, 'output.txt'), 'utf8'));
  t.same(outputs, {
    passed: '1',
    failed: '1',
    skipped: '0',
    'report-html': '',
    junit: join(h.dir, 'out/junit.xml'),
    json: join(h.dir, 'out/run.json'),
    reproduce: `sriov-lab run ${join(h.dir, 'suite')} --seed 5 --backend sim`,
  });
});

t.test('--github forces it; a passing run exits 0 and annotates nothing', async (t) => {
  const h = setup(t);
  const code = await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--seed', '2', '--github', '--html', join(h.dir, 'r.html')], h.io);
  t.equal(code, 0, h.err());
  t.notMatch(h.out(), /^::error/m);
  t.match(h.out(), /^::group::sleeps \(suite\/ok\.yaml\)$/m);
  t.match(readFileSync(join(h.dir, 'summary.md'), 'utf8'), '## ✅ sriov-lab scenarios');
  t.match(parseOutputFile(readFileSync(join(h.dir, 'output.txt'), 'utf8')), { passed: '1', failed: '0', 'report-html': join(h.dir, 'r.html') });
});

t.test('without GitHub nothing of this is printed or written', async (t) => {
  for (const env of [{}, { GITHUB_ACTIONS: 'false' }] as Array<Record<string, string>>) {
    const h = setup(t, env);
    const code = await runCommand([join(h.dir, 'suite'), '--seed', '5'], h.io);
    t.equal(code, 1);
    t.notMatch(h.out(), /^::/m, `no workflow commands (${JSON.stringify(env)})`);
    t.equal(readFileSync(join(h.dir, 'summary.md'), 'utf8'), '# earlier step output\n', 'summary untouched');
    t.equal(readFileSync(join(h.dir, 'output.txt'), 'utf8'), '', 'outputs untouched');
  }
});

t.test('more than 10 failed operations: 10 annotations, the rest counted in the summary', async (t) => {
  const h = setup(t, { GITHUB_ACTIONS: 'true' });
  const many: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    many[`p${String(i).padStart(2, '0')}.yaml`] = `${head(`pod-${i}`)}  steps:\n    - name: running\n      try:\n        - assert: { timeoutMs: 10, resource: { kind: Pod, metadata: { name: a }, status: { phase: Running } } }\n`;
  }
  const dir = t.testdir({ many, 'summary.md': '', 'output.txt': '' });
  const env = { ...h.io.env, GITHUB_STEP_SUMMARY: join(dir, 'summary.md'), GITHUB_OUTPUT: join(dir, 'output.txt'), GITHUB_WORKSPACE: dir };
  const code = await runCommand([join(dir, 'many'), '--seed', '1'], { ...h.io, cwd: dir, env });
  t.equal(code, 1);
  const errors = h.out().split('\n').filter((l) => l.startsWith('::error '));
  t.equal(errors.length, 10);
  t.match(errors[0], /^::error file=many\/p00\.yaml,line=9,/);
  t.match(readFileSync(join(dir, 'summary.md'), 'utf8'), '> 12 failed operations: the first 10 are annotated in the files, 2 more are not');
  t.match(parseOutputFile(readFileSync(join(dir, 'output.txt'), 'utf8')), { failed: '12', passed: '0' });
});

t.test('a summary file near the 1 MiB cap: the run\'s part is cut to fit, with a note', async (t) => {
  const h = setup(t, { GITHUB_ACTIONS: 'true' });
  const summary = join(h.dir, 'summary.md');
  const before = `${'x'.repeat(1024 * 1024 - 600)}\n`;
  writeFileSync(summary, before);
  await runCommand([join(h.dir, 'suite'), '--seed', '5', '--html', join(h.dir, 'report.html')], h.io);
  const text = readFileSync(summary, 'utf8');
  t.ok(Buffer.byteLength(text) <= 1024 * 1024, `${Buffer.byteLength(text)} bytes`);
  t.match(text.slice(before.length), /This summary was cut\*\* to fit GitHub's 1 MiB limit for a step summary: \d+ bytes left out\. Everything is in the HTML report \(\S+report\.html\)/);
});
