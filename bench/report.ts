// How big and how fast is the HTML report of a large run? Renders a synthetic run (default 60 scenarios, 20k trace
// events), prints the file size and render time, then opens it in Chromium from file:// and prints the page's own
// performance marks (script start → data decoded → first render) and the time to expand the largest failed scenario.
//
//   node --import tsx bench/report.ts [--scenarios N] [--events N] [--runs N]
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { caps, chromiumPath } from '../sim/caps.ts';
import { syntheticRun } from '../reports/fixtures/synthetic.ts';
import { renderHtml } from '../reports/html.ts';
import { serializeRunResult } from '../reports/json.ts';
import { renderJUnit } from '../reports/junit.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const scenarios = arg('scenarios', 60);
const events = arg('events', 20_000);
const runs = arg('runs', 5);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;

const run = syntheticRun({ scenarios, traceEvents: events });
let t0 = performance.now();
const json = serializeRunResult(run);
const jsonMs = performance.now() - t0;
t0 = performance.now();
const html = renderHtml(run);
const htmlMs = performance.now() - t0;
t0 = performance.now();
const junit = renderJUnit(run);
const junitMs = performance.now() - t0;

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');
await mkdir(out, { recursive: true });
const file = join(out, 'bench-report.html');
await writeFile(file, html);

console.log(`report of ${scenarios} scenarios, ${events} trace events`);
console.log(`  JSON   ${kib(json.length).padStart(9)}  rendered in ${jsonMs.toFixed(0)} ms`);
console.log(`  HTML   ${kib(html.length).padStart(9)}  rendered in ${htmlMs.toFixed(0)} ms  (${file})`);
console.log(`  JUnit  ${kib(junit.length).padStart(9)}  rendered in ${junitMs.toFixed(0)} ms`);

const chromiumCap = caps.chromium();
if (!chromiumCap.ok) {
  console.log(`  browser timings skipped: ${chromiumCap.detail}`);
} else {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const decoded: number[] = [];
    const firstRender: number[] = [];
    const wall: number[] = [];
    const expand: number[] = [];
    const biggest = run.scenarios.filter((s) => s.status === 'failed').sort((a, b) => b.trace.length - a.trace.length)[0];
    for (let i = 0; i < runs; i++) {
      const page = await browser.newPage();
      const w0 = performance.now();
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('html[data-state="ready"]');
      wall.push(performance.now() - w0);
      const marks = await page.evaluate(() =>
        Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
      );
      decoded.push(marks['report:data-decoded']);
      firstRender.push(marks['report:first-render']);
      if (biggest) {
        const ms = await page.evaluate((id) => {
          const g = globalThis as unknown as {
            document: { querySelector(s: string): { click(): void; querySelector(s: string): { click(): void } | null; querySelectorAll(s: string): { length: number } } | null };
          };
          const card = g.document.querySelector(`section.scenario[data-id="${id}"]`);
          const start = performance.now();
          card?.querySelector('.scenario-head')?.click();
          const n = card?.querySelectorAll('.tl-event').length ?? 0;
          return { ms: performance.now() - start, n };
        }, biggest.id);
        expand.push(ms.ms);
      }
      await page.close();
    }
    console.log(`  Chromium, median of ${runs} loads from file:// (ms since navigation start):`);
    console.log(`    data decoded (gunzip + JSON.parse)  ${median(decoded).toFixed(0)} ms`);
    console.log(`    first render (header + list)        ${median(firstRender).toFixed(0)} ms`);
    console.log(`    goto → ready, as playwright sees it ${median(wall).toFixed(0)} ms`);
    if (biggest) {
      console.log(
        `    expand the largest failed scenario (${biggest.trace.length} events) ${median(expand).toFixed(0)} ms`,
      );
    }
  } finally {
    await browser.close();
  }
}
