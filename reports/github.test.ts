import t from 'tap';
import { capMarkdown } from './markdown.ts';
import { escapeData, escapeProperty, failureAnnotations, outputEntry, workflowCommand, workspacePath } from './github.ts';
import { sampleRun } from './fixtures/sample-run.ts';

t.test('workflow-command escaping: %, CR, LF in data; also : and , in properties', async (t) => {
  const table: Array<[string, string, string]> = [
    ['plain', 'plain', 'plain'],
    ['50% done', '50%25 done', '50%25 done'],
    ['a\nb\r\nc', 'a%0Ab%0D%0Ac', 'a%0Ab%0D%0Ac'],
    ['file.yaml:9', 'file.yaml:9', 'file.yaml%3A9'],
    ['a, b', 'a, b', 'a%2C b'],
    ['%0A literal', '%250A literal', '%250A literal'],
    ['::error::x', '::error::x', '%3A%3Aerror%3A%3Ax'],
  ];
  for (const [input, data, prop] of table) {
    t.equal(escapeData(input), data, `data ${JSON.stringify(input)}`);
    t.equal(escapeProperty(input), prop, `property ${JSON.stringify(input)}`);
  }
  t.equal(
    workflowCommand('error', { file: 'a,b.yaml', line: 3, col: undefined, title: 'x: y' }, 'line 1\nline 2'),
    '::error file=a%2Cb.yaml,line=3,title=x%3A y::line 1%0Aline 2',
  );
  t.equal(workflowCommand('endgroup', {}, ''), '::endgroup::');
});

t.test('outputs: name=value, the heredoc form for a value with a line break', async (t) => {
  t.equal(outputEntry('passed', '3'), 'passed=3\n');
  t.equal(outputEntry('reproduce', "sriov-lab run 'a b' <<x"), "reproduce=sriov-lab run 'a b' <<x\n");
  t.equal(outputEntry('m', 'one\ntwo', () => 'EOF_1'), 'm<<EOF_1\none\ntwo\nEOF_1\n');
  const ds = ['EOF_1', 'EOF_2'];
  t.equal(outputEntry('m', 'EOF_1\nx', () => ds.shift()!), 'm<<EOF_2\nEOF_1\nx\nEOF_2\n', 'a delimiter found in the value is not used');
  t.match(outputEntry('m', 'a\nb'), /^m<<ghadelimiter_[0-9a-f]{24}\na\nb\nghadelimiter_[0-9a-f]{24}\n$/);
});

t.test('annotations of the sample run: one per failed operation, at its file and line', async (t) => {
  const a = failureAnnotations(sampleRun());
  t.equal(a.length, 1);
  t.match(a[0], { file: 'scenarios/restart/restart.yaml', line: 42, column: 9 });
  t.match(a[0].title, /^device plugin restart keeps allocatable › /);
  t.match(a[0].message, /^AssertionError: .*is "2", want "4"/);
  t.match(a[0].message, '-    intel.com/sriov_net_a: "4"');
  const run = sampleRun();
  const s = run.scenarios.find((x) => x.status === 'passed')!;
  s.status = 'failed';
  s.error = { name: 'ExecError', message: 'down failed' };
  t.match(failureAnnotations(run).find((x) => x.title === s.name), { file: s.file, line: s.location?.line, message: 'ExecError: down failed' }, 'a scenario-level error: at the scenario');
});

t.test('workspacePath: relative to the repository when inside it', async (t) => {
  t.equal(workspacePath('scenarios/a.yaml', '/ws', '/ws'), 'scenarios/a.yaml');
  t.equal(workspacePath('a.yaml', '/ws/sub', '/ws'), 'sub/a.yaml');
  t.equal(workspacePath('/ws/x/a.yaml', '/elsewhere', '/ws'), 'x/a.yaml');
  t.equal(workspacePath('../lib/a.yaml', '/ws', '/ws'), '/lib/a.yaml', 'outside the workspace: absolute');
  t.equal(workspacePath('/x/a.yaml', '/x', undefined), 'a.yaml');
});

t.test('capMarkdown: fits the budget, closes an open fence and <details>, says how much was cut', async (t) => {
  const md = ['# title', '', '```diff', ...Array.from({ length: 200 }, (_, i) => `-line ${i}`), '```', '', '<details><summary>x</summary>', ...Array.from({ length: 50 }, (_, i) => `| row ${i} |`), '</details>', ''].join('\n');
  t.equal(capMarkdown(md, 1_000_000, () => 'cut'), md, 'unchanged when it fits');
  t.ok(Buffer.byteLength(md) > 2000);
  for (const budget of [300, 1200, 1900]) {
    const out = capMarkdown(md, budget, (n) => `> cut: ${n} bytes left out`);
    t.ok(Buffer.byteLength(out) <= budget, `${Buffer.byteLength(out)} <= ${budget}`);
    t.match(out, /> cut: \d+ bytes left out\n$/);
    const fences = out.split('\n').filter((l) => l.startsWith('```')).length;
    t.equal(fences % 2, 0, `fences balanced at ${budget}`);
    t.equal((out.match(/<details>/g) ?? []).length, (out.match(/<\/details>/g) ?? []).length, `details closed at ${budget}`);
    const left = Number(/(\d+) bytes left out/.exec(out)?.[1]);
    t.ok(left > 0 && left < Buffer.byteLength(md), `left out ${left}`);
  }
  t.ok(capMarkdown('é'.repeat(600), 200, () => 'n').length < 200, 'multi-byte text counted in bytes');
});
