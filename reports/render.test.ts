import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sampleRun } from './fixtures/sample-run.ts';
import { serializeRunResult } from './json.ts';
import { parseReportArgs, renderReport, reportCommand } from './render.ts';

function io(): { out: string; err: string; stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } } {
  const o = { out: '', err: '', stdout: { write: (s: string) => ((o.out += s), true) }, stderr: { write: (s: string) => ((o.err += s), true) } };
  return o;
}

t.test('renderReport writes every requested format', async (t) => {
  const dir = t.testdir();
  const targets = { html: join(dir, 'a', 'r.html'), junit: join(dir, 'b', 'j.xml'), json: join(dir, 'r.json'), markdown: join(dir, 's.md') };
  const written = await renderReport(sampleRun(), targets);
  t.same(written.map((w) => w.kind).sort(), ['html', 'json', 'junit', 'markdown']);
  for (const w of written) t.equal((await readFile(w.path)).length, w.bytes, `${w.kind} size`);
  t.match(await readFile(targets.junit, 'utf8'), '<testsuites');
});

t.test('report command: a saved run re-rendered', async (t) => {
  const dir = t.testdir();
  const input = join(dir, 'run.json');
  await writeFile(input, serializeRunResult(sampleRun()));
  const o = io();
  const code = await reportCommand([input, '--html', join(dir, 'r.html'), `--junit=${join(dir, 'j.xml')}`], o);
  t.equal(code, 0);
  t.match(o.out, 'Failures (1):');
  t.match(o.out, /wrote junit .*j\.xml \(\d+ bytes\)/);
  t.match(o.out, /wrote html .*r\.html/);
});

t.test('report command: usage and input errors exit 2 with a message', async (t) => {
  const dir = t.testdir({ 'bad.json': JSON.stringify({ schema: 'sriov-lab/run-result', version: 9 }) });
  const cases: Array<[string[], RegExp]> = [
    [[], /which run\?/],
    [['a.json', '--html'], /--html needs a file name/],
    [['a.json', '--pdf', 'x'], /unknown option --pdf/],
    [[join(dir, 'missing.json')], /ENOENT/],
    [[join(dir, 'bad.json')], /bad\.json: version: expected 1/],
  ];
  for (const [args, re] of cases) {
    const o = io();
    t.equal(await reportCommand(args, o), 2, args.join(' '));
    t.match(o.err, re);
  }
  t.same(parseReportArgs(['r.json', '--md', 'x.md', '-q']), { input: 'r.json', targets: { markdown: 'x.md' }, quiet: true });
});
