import t from 'tap';
import { leadingCommentLine, listBenchmarks, renderTable, statusOf } from './run.ts';

t.test('the first line of the leading comment', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['line comments', '// Admission throughput: pods/s.\n// more\nimport x from "y";\n', 'Admission throughput: pods/s.'],
    ['block comment', '/**\n * not this\n */\n', ''],
    ['one-line block comment', '/* Scheduling throughput */\ncode();\n', 'Scheduling throughput'],
    ['after a shebang', '#!/usr/bin/env node\n// Wall time\n', 'Wall time'],
    ['no comment', 'import x from "y";\n// later\n', ''],
  ];
  for (const [name, source, want] of cases) t.equal(leadingCommentLine(source), want, name);
});

t.test('status from exit code, signal and a "skipped" line', async (t) => {
  const cases: Array<[string, number | null, NodeJS.Signals | null, string, string]> = [
    ['exit 0', 0, null, 'figures\n', 'ok'],
    ['exit 0 with a skipped line', 0, null, 'bench/x\nskipped: the sim backend cannot run here: no FUSE\n', 'skipped'],
    ['a partial skip is not a skip', 0, null, '  browser timings skipped: no Chromium\n', 'ok'],
    ['non-zero exit', 1, null, 'skipped: no QEMU\n', 'failed'],
    ['killed', null, 'SIGTERM', '', 'failed'],
  ];
  for (const [name, code, signal, output, want] of cases) t.equal(statusOf(code, signal, output), want, name);
});

t.test('benchmarks are the .ts files of the folder but run.ts and tests', async (t) => {
  const dir = t.testdir({ 'b.ts': '', 'a.ts': '', 'run.ts': '', 'run.test.ts': '', 'notes.md': '' });
  t.same(listBenchmarks(dir).map((b) => b.name), ['a', 'b']);
});

t.test('one table', async (t) => {
  const table = renderTable([
    { name: 'sysfs', status: 'ok', exitCode: 0, signal: null, durationMs: 12_345 },
    { name: 'vm', status: 'failed', exitCode: 1, signal: null, durationMs: 250 },
    { name: 'scenarios', status: 'not run', exitCode: null, signal: null, durationMs: 0 },
  ]);
  t.equal(
    table,
    [
      'benchmark  status           wall time',
      'sysfs      ok                  12.3 s',
      'vm         failed (exit 1)      0.3 s',
      'scenarios  not run',
      '',
    ].join('\n'),
  );
});
