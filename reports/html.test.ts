import t from 'tap';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { buildViewer, generatedModule, GENERATED_FILE } from './build-viewer.ts';
import { sampleRun } from './fixtures/sample-run.ts';
import { syntheticRun } from './fixtures/synthetic.ts';
import { HTML_CSP, renderHtml } from './html.ts';
import { parseRunResult, serializeRunResult } from './json.ts';

function embedded(html: string): { encoding: string; data: string } {
  const m = /<template id="run-data" data-encoding="([^"]+)">([^<]*)<\/template>/.exec(html);
  if (!m) throw new Error('no run-data template');
  return { encoding: m[1], data: m[2] };
}

t.test('the committed viewer bundle is up to date with reports/viewer/', async (t) => {
  const fresh = generatedModule(await buildViewer());
  t.equal(await readFile(GENERATED_FILE, 'utf8'), fresh, 'run `node --import tsx reports/build-viewer.ts` and commit the result');
});

t.test('one self-contained file', async (t) => {
  const html = renderHtml(sampleRun());
  t.match(html, `<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">`);
  t.notMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i, 'no external scripts, styles or images');
  t.notMatch(html, /url\(\s*['"]?(https?:|\/\/)/i, 'no remote CSS urls');
  t.equal(html.match(/<script>/g)?.length, 1);
  t.equal(html.match(/<\/script>/g)?.length, 1, 'the inlined JS cannot close its element early');
  t.match(html, '<title>✗ sriov-lab report — 1 failed, 2 passed, 1 skipped</title>');
});

t.test('the embedded data is the canonical JSON, gzip + base64 by default', async (t) => {
  const run = sampleRun();
  const gz = embedded(renderHtml(run));
  t.equal(gz.encoding, 'gzip+base64');
  t.same(parseRunResult(gunzipSync(Buffer.from(gz.data, 'base64')).toString('utf8')), JSON.parse(serializeRunResult(run)));
  const plain = embedded(renderHtml(run, { compress: false }));
  t.equal(plain.encoding, 'base64');
  t.equal(Buffer.from(plain.data, 'base64').toString('utf8'), serializeRunResult(run, { indent: 0 }));
});

t.test('hostile strings in the data cannot break out of the page', async (t) => {
  const run = sampleRun();
  run.scenarios[0].name = '</template><script>alert(1)</script>';
  const html = renderHtml(run);
  t.equal(html.match(/<script>/g)?.length, 1);
  t.notMatch(html, 'alert(1)');
});

t.test('a large run compresses well', async (t) => {
  const run = syntheticRun({ scenarios: 60, traceEvents: 20_000 });
  t.equal(run.scenarios.reduce((a, s) => a + s.trace.length, 0), 20_000);
  const json = serializeRunResult(run, { indent: 0 });
  const html = renderHtml(run);
  t.ok(html.length < json.length / 3, `html ${html.length} bytes < a third of the JSON ${json.length}`);
});
