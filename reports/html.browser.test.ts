// End-to-end test of the HTML report in Debian's Chromium, opened from file:// with every non-file request refused.
// Expectations are computed from the run itself, so the same test holds for any run that has a failure with a
// trace; see runUnderTest().
import t from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { caps, chromiumPath } from '../sim/caps.ts';
import { CHROMIUM_ARGS } from './fixtures/chromium.ts';
import { sampleRun } from './fixtures/sample-run.ts';
import { renderHtml } from './html.ts';
import { loadRunResult } from './render.ts';
import { renderJUnit } from './junit.ts';
import { failuresFirst, firstError, type RunResult } from './types.ts';
import { isTimelineEvent, resourceCharts } from './viewer/chart.ts';
import { EMPTY_STATE, matches } from './viewer/state.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'out');

export { CHROMIUM_ARGS };

/**
 * The run the browser test opens. Until the scenario runner lands this is the realistic fixture; set
 * SRIOV_LAB_REPORT_RUN=<saved run.json> to test a real run. When harness/ can run scenarios in-process, replace the
 * fallback with a run of the scenario library that includes a failing scenario (e.g. the device-plugin-restart
 * regression) — every expectation below is derived from the returned run.
 */
export async function runUnderTest(): Promise<{ run: RunResult; origin: string }> {
  const saved = process.env.SRIOV_LAB_REPORT_RUN;
  if (saved) return { run: await loadRunResult(saved), origin: saved };
  // a real scenario run on the simulator: the virtio tutorial (passes) and a deliberately broken expectation (fails)
  const { simBackend } = await import('../harness/backends/sim.ts');
  const available = await simBackend.available();
  if (!available.ok) {
    return { run: sampleRun(), origin: `reports/fixtures/sample-run.ts (the simulator cannot run here: ${available.reason})` };
  }
  const { runCommand } = await import('../harness/runner/command.ts');
  const { createBackendRegistry } = await import('../harness/runner/registry.ts');
  const registry = createBackendRegistry();
  registry.register(simBackend);
  await mkdir(OUT, { recursive: true });
  const json = join(OUT, 'report-browser-test-run.json');
  await runCommand([join(root, 'scenarios/tutorial/virtio.yaml'), join(root, 'harness/backends/fixtures/broken-expectation.yaml'), '--seed', '3', '--json', json], {
    registry,
    cwd: root,
    stdout: { write: () => true, isTTY: false } as never,
    stderr: { write: () => true },
    signal: new AbortController().signal,
  });
  return { run: await loadRunResult(json), origin: 'a real run on the sim backend (tutorial-virtio + broken-expectation)' };
}

const chromiumCap = caps.chromium();
t.test('HTML report in Chromium', { skip: chromiumCap.ok ? false : `no Chromium: ${chromiumCap.detail}` }, async (t) => {
  const { run, origin } = await runUnderTest();
  t.comment(`run from ${origin}`);
  const failed = failuresFirst(run.scenarios).find((s) => s.status === 'failed' && firstError(s));
  if (!failed) throw new Error(`${origin} has no failed scenario with an error: the browser test needs one`);

  await mkdir(OUT, { recursive: true });
  const file = join(OUT, 'report-browser-test.html');
  await writeFile(file, renderHtml(run));
  const url = pathToFileURL(file).href;

  const browser: Browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const external: string[] = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('file://')) return route.continue();
    external.push(u);
    return route.abort();
  });
  const page: Page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file://')) external.push(r.url());
  });

  const ready = async (): Promise<void> => {
    await page.waitForSelector('html[data-state="ready"]', { timeout: 30_000 });
  };
  const visibleIds = (): Promise<string[]> =>
    page.$$eval('section.scenario', (els) => els.filter((e) => !(e as unknown as { hidden: boolean }).hidden).map((e) => e.getAttribute('data-id') ?? ''));
  const expectIds = (st: Partial<typeof EMPTY_STATE>): string[] =>
    failuresFirst(run.scenarios)
      .filter((s) => matches(s, { ...EMPTY_STATE, ...st }))
      .map((s) => s.id);

  await page.goto(url);
  await ready();

  await t.test('summary counters match the run', async (t) => {
    const count = async (status: string): Promise<number> => Number(await page.textContent(`.counter-${status} .count`));
    t.equal(await count('all'), run.scenarios.length);
    for (const st of ['passed', 'failed', 'skipped'] as const) {
      t.equal(await count(st), run.scenarios.filter((s) => s.status === st).length, st);
    }
    t.same(await visibleIds(), failuresFirst(run.scenarios).map((s) => s.id), 'every scenario listed, failures first');
    t.equal(await page.textContent('#run-status'), 'failed');
    t.match(await page.textContent('.summary'), String(run.run.seed));
    const marks = await page.evaluate(() => performance.getEntriesByType('mark').map((m) => m.name));
    t.same(marks, ['report:script-start', 'report:data-decoded', 'report:first-render']);
  });

  await t.test('filter by status, kept in the URL across a reload', async (t) => {
    await page.click('.counter-failed');
    t.same(await visibleIds(), expectIds({ status: 'failed' }));
    t.match(new URL(page.url()).hash, 'status=failed');
    await page.reload();
    await ready();
    t.same(await visibleIds(), expectIds({ status: 'failed' }), 'after reload');
    t.ok(await page.$eval('.counter-failed', (e) => e.classList.contains('active')), 'the counter shows the filter');
    await page.click('.counter-failed'); // toggles back to all
    t.same(await visibleIds(), expectIds({}));
  });

  await t.test('filter by text and tag, kept across a reload', async (t) => {
    const word = failed.name.split(/\s+/).sort((a, b) => b.length - a.length)[0].toUpperCase();
    await page.fill('#filter-text', word);
    const want = expectIds({ q: word });
    t.ok(want.includes(failed.id));
    t.same(await visibleIds(), want, `text "${word}"`);
    await page.reload();
    await ready();
    t.equal(await page.inputValue('#filter-text'), word, 'the input keeps the text');
    t.same(await visibleIds(), want, 'after reload');
    await page.fill('#filter-text', '');
    const tag = failed.tags[0];
    if (tag) {
      await page.selectOption('#filter-tag', tag);
      t.same(await visibleIds(), expectIds({ tag }), `tag ${tag}`);
      await page.selectOption('#filter-tag', '');
    }
    const resource = failed.resources[0];
    if (resource) {
      await page.selectOption('#filter-resource', resource);
      t.same(await visibleIds(), expectIds({ resource }), `resource ${resource}`);
      await page.selectOption('#filter-resource', '');
    }
    await page.fill('#filter-text', 'no scenario has this name 7f3c');
    t.same(await visibleIds(), []);
    t.equal(await page.isVisible('#empty'), true, 'says nothing matches');
    await page.fill('#filter-text', '');
    t.equal(new URL(page.url()).hash, '', 'a clean URL when nothing is filtered');
  });

  await t.test('expanding the failure shows the diff, the reproduce command, timeline and charts', async (t) => {
    const card = page.locator(`section.scenario[data-id="${failed.id.replace(/"/g, '\\"')}"]`);
    await card.locator('.scenario-head').click();
    const { error } = firstError(failed)!;
    await card.locator('.error .diff').waitFor();
    const diff = await card.locator('.error .diff').textContent();
    t.match(diff, '--- expected\n+++ actual');
    if (error.expected !== undefined && error.actual !== undefined) {
      const changed = error.expected.split('\n').find((l) => l && !error.actual!.split('\n').includes(l));
      if (changed) t.match(diff, `-${changed}`, 'the expected line is shown removed');
    }
    t.match(await card.locator('.error-message').textContent(), error.message);
    t.equal(await card.locator('.scenario-reproduce pre.reproduce').textContent(), failed.reproduceCommand);
    t.match(new URL(page.url()).hash, 'open=', 'expanded scenarios are in the URL too');

    const timeline = failed.trace.filter(isTimelineEvent);
    t.equal(await card.locator('svg.timeline .tl-event').count(), timeline.length, 'one timeline mark per event');
    const charts = resourceCharts(failed.trace, failed.durationMs);
    t.equal(await card.locator('figure.chart').count(), charts.length, 'one chart per node and resource');
    t.equal(await card.locator('figure.chart polyline.series').count(), charts.length * 3, 'capacity, allocatable, allocated');
    for (const c of charts) {
      const pts = await card.locator(`figure.chart[data-node="${c.node}"][data-resource="${c.resource}"] polyline.series-allocatable`).getAttribute('points');
      t.equal(pts?.split(' ').length, c.samples.length * 2, `${c.node} ${c.resource}: a step per sample`);
    }
    const grpc = failed.trace.filter((e) => e.kind === 'grpc').length;
    t.equal(await card.locator('table.grpc tbody tr').count(), Math.min(grpc, 300), 'gRPC transcript rows');
    const cni = failed.trace.filter((e) => e.kind === 'cni');
    t.equal(await card.locator('.cni-call').count(), cni.length);
    if (cni.length > 0) {
      await card.locator('.cni-call summary').first().click();
      t.match(await card.locator('.cni-call pre.cni-stdin').first().textContent(), '"cniVersion"', 'CNI stdin shown');
    }
    // the last mark is drawn on top: on a dense real timeline earlier marks at the same time lie under later ones
    await card.locator('svg.timeline .tl-event').last().click();
    t.match(await card.locator('.tl-detail').textContent(), '"kind"', 'clicking an event shows it');
    if (failed.attachments.length > 0) {
      await card.locator('.attachment summary').first().click();
      // the body is rendered on the details' toggle event, a moment after the click
      await card.locator('.attachment-body, .attachment a[download]').first().waitFor({ timeout: 5000 }).catch(() => undefined);
      t.equal(await card.locator('.attachment-body, .attachment a[download]').count() > 0, true, 'attachment opens');
    }
    await page.reload();
    await ready();
    t.equal(await card.locator('.error .diff').isVisible(), true, 'still expanded after reload');
    await page.screenshot({ path: join(OUT, 'report-browser-test.png'), fullPage: true });
  });

  await t.test('the JUnit XML parses in a real XML parser', async (t) => {
    const xml = renderJUnit(run);
    const result = await page.evaluate((text) => {
      type XmlDoc = { getElementsByTagName(n: string): ArrayLike<{ textContent: string | null }> };
      const Parser = (globalThis as unknown as { DOMParser: new () => { parseFromString(s: string, type: string): XmlDoc } }).DOMParser;
      const d = new Parser().parseFromString(text, 'application/xml');
      const err = d.getElementsByTagName('parsererror')[0];
      return { error: err ? err.textContent : null, cases: d.getElementsByTagName('testcase').length };
    }, xml);
    t.equal(result.error, null);
    t.equal(result.cases, run.scenarios.length);
  });

  t.same(problems, [], 'no console errors or page errors');
  t.same(external, [], 'no network requests');
  t.ok((await readFile(join(OUT, 'report-browser-test.png'))).length > 1000, 'screenshot kept at out/report-browser-test.png');
});
