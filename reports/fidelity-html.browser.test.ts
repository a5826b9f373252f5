// The fidelity page in Debian's Chromium, from file:// with every other request refused: a real sim-vs-sim run of
// the small fixture, with one value of B's observations changed and compared again, so there is a difference to show.
import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { caps, chromiumPath } from '../sim/caps.ts';
import type { FidelityResult } from './fidelity-types.ts';
import { renderFidelityHtml } from './fidelity-html.ts';
import { CHROMIUM_ARGS } from './fixtures/chromium.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const chromiumCap = caps.chromium();
const { simBackend } = await import('../harness/backends/sim.ts');
const simOk = await simBackend.available();
const skip = !chromiumCap.ok ? `no Chromium: ${chromiumCap.detail}` : !simOk.ok ? `the simulator cannot run here: ${simOk.reason}` : false;

async function realResult(): Promise<FidelityResult> {
  const { fidelityCommand } = await import('../harness/fidelity/command.ts');
  const { compareScenario, totals } = await import('../harness/fidelity/compare.ts');
  const { createBackendRegistry } = await import('../harness/runner/registry.ts');
  const registry = createBackendRegistry();
  registry.register(simBackend);
  const dir = mkdtempSync(join(tmpdir(), 'sl-fid-html-'));
  try {
    await fidelityCommand(['harness/fidelity/fixtures/small.yaml', '--a', 'sim', '--b', 'sim', '--seed', '4', '--json', join(dir, 'f.json')], {
      registry,
      cwd: root,
      stdout: { write: () => true },
      stderr: { write: () => true },
      signal: new AbortController().signal,
    });
    const r = JSON.parse(readFileSync(join(dir, 'f.json'), 'utf8')) as FidelityResult;
    const obs = r.observations![0];
    obs.b.operations[0].values['node1 vf 0000:01:00.0/1 driver'] = 'vfio-pci';
    r.comparisons[0] = compareScenario(obs.a, obs.b, r.backends);
    r.totals = totals(r.comparisons);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('fidelity page in Chromium: per operation, A and B side by side, differences marked', { skip }, async (t) => {
  const r = await realResult();
  const out = join(root, 'out');
  await mkdir(out, { recursive: true });
  const file = join(out, 'fidelity-browser-test.html');
  await writeFile(file, renderFidelityHtml(r));

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
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(pathToFileURL(file).href);

  t.match(await page.title(), /^✗ sriov-lab fidelity sim vs sim — 1 difference$/);
  const ops = r.observations![0].a.operations;
  t.equal(await page.locator('details.operation').count(), ops.length, 'one block per operation');
  t.same(await page.locator('details.operation').first().locator('thead th').allTextContents(), ['what', 'sim (A)', 'sim (B)'], 'A and B side by side');
  const first = page.locator(`details.operation[data-key="${ops[0].key}"]`);
  t.equal(await first.getAttribute('open'), '', 'the operation with a difference is open');
  const row = first.locator('tr.diff');
  t.equal(await row.count(), 1, 'exactly the changed value is marked');
  t.same(await row.locator('td').allTextContents(), ['node1 vf 0000:01:00.0/1 driver', 'igbvf', 'vfio-pci']);
  t.ok(await row.isVisible(), 'and visible');
  t.equal(await row.locator('td').first().evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor), 'rgb(255, 235, 233)', 'highlighted');
  t.equal(await page.locator(`details.operation[data-key="${ops[1].key}"]`).getAttribute('open'), null, 'an operation that agrees is closed');
  t.match(await page.locator('table.differences').textContent(), 'node1 vf 0000:01:00.0/1 driver');
  t.ok((await page.locator('details.states').count()) >= 1, 'the ListAndWatch states are shown side by side too');
  t.same(external, [], 'no request left file://');
  t.same(problems, [], 'no console errors');
});
