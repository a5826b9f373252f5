import t from 'tap';
import { matchExpectedFile } from './fixtures/expected-file.ts';
import { sampleRun } from './fixtures/sample-run.ts';
import { renderMarkdown, fence, mdText } from './markdown.ts';
import { replay } from './reporter.ts';
import { formatDuration, renderTerminalSummary, terminalReporter } from './terminal.ts';

t.test('terminal: progress lines in run order, then failures first with the reproduce command', async (t) => {
  let out = '';
  await replay(sampleRun(), terminalReporter({ stream: { write: (s: string) => (out += s) }, color: false }));
  matchExpectedFile(t, 'sample-run.terminal.txt', out);
  const lines = out.split('\n');
  t.equal(lines[0], 'sriov-lab 0.1.0: 4 scenarios on backend sim (seed 1234, kernel 6.18.0)');
  t.match(lines[1], /^ {2}✓ scenarios\/basic\/allocate\.yaml › pod gets a VF \(812ms\)$/);
  t.ok(out.indexOf('Failures (1):') < out.indexOf('Skipped (1):'), 'failures before skips');
  t.match(out, "reproduce: sriov-lab run scenarios/restart/restart.yaml --scenario 'device plugin restart keeps allocatable' --backend sim --seed 1234");
  t.match(out, '4 scenarios: 1 failed, 2 passed, 1 skipped in 4.2s (backend sim, seed 1234)');
  t.notMatch(out, '\u001b', 'no colour when asked for none');
});

t.test('terminal on a TTY shows the current step and clears it', async (t) => {
  let out = '';
  await replay(sampleRun(), terminalReporter({ stream: { write: (s: string) => (out += s), isTTY: true, columns: 60 }, color: true }));
  t.match(out, '\r\u001b[2K');
  t.match(out, '[1/4]');
  t.match(out, '\u001b[31m✗\u001b[0m');
});

t.test('terminal summary of a run without failures has no failure section', async (t) => {
  const run = sampleRun();
  run.scenarios = run.scenarios.filter((s) => s.status === 'passed');
  const out = renderTerminalSummary(run);
  t.notMatch(out, 'Failures');
  t.notMatch(out, 're-run all');
  t.same([formatDuration(999), formatDuration(1500), formatDuration(125_000)], ['999ms', '1.5s', '2m5s']);
});

t.test('markdown summary', async (t) => {
  const md = renderMarkdown(sampleRun(), { reportUrl: 'https://ci.example/report.html' });
  matchExpectedFile(t, 'sample-run.md', md);
  t.ok(md.indexOf('### ❌ device plugin restart') < md.indexOf('Skipped (1)'), 'failures first');
  t.match(md, '| 4 | 2 | 1 | 1 | 4.2s |');
  t.match(md, '```diff\n--- expected');
  t.match(md, "```sh\nsriov-lab run scenarios/restart/restart.yaml --scenario 'device plugin restart keeps allocatable'");
  t.equal(mdText('a|b <x> *y*\nz'), 'a\\|b \\<x\\> \\*y\\* z');
  t.equal(fence('has ``` inside'), '````\nhas ``` inside\n````');
});
