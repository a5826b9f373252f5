// A fidelity run as one static HTML page (`sriov-lab fidelity --html FILE`): per scenario the differences, then per
// operation what backend A and backend B observed side by side, the differing rows marked, and each ListAndWatch
// stream's states side by side. No script: the page is plain HTML under the report's Content-Security-Policy.
import type { Difference, FidelityResult, OperationObservation, ScenarioComparison, ScenarioObservation } from './fidelity-types.ts';
import { HTML_CSP } from './html.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1f24; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.1rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: .2rem 0; display: inline; }
table { border-collapse: collapse; margin: .5rem 0; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #d0d7de; padding: 2px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 12px; }
th { background: #f6f8fa; font-family: system-ui, sans-serif; }
tr.diff td { background: #ffebe9; } tr.diff td.what { font-weight: 600; }
.tag { font: 11px system-ui, sans-serif; border-radius: 3px; padding: 0 4px; margin-left: 4px; background: #ddf4ff; }
.tag.race { background: #eee; } .ok { color: #1a7f37; } .bad { color: #cf222e; }
details { margin: .3rem 0; } summary { cursor: pointer; }
col.what { width: 34%; }
`;

function opLabel(o: OperationObservation): string {
  return `${o.stepName} › ${o.phase === 'try' ? '' : `${o.phase}: `}${o.title}${o.location ? ` (${o.location.file}:${o.location.line})` : ''}`;
}

function differenceRows(diffs: readonly Difference[], names: { a: string; b: string }): string {
  if (!diffs.length) return '<p class="ok">no differences</p>';
  const rows = diffs.map((d) => {
    const where = d.operation ? `${d.operation.stepName} › ${d.operation.title}` : '(whole scenario)';
    const tags = `${d.transient ? '<span class="tag">transient</span>' : ''}${d.oneSided ? '<span class="tag">one side only</span>' : ''}${d.race ? '<span class="tag race">race, not counted</span>' : ''}`;
    const extent = d.repeats > 0 && d.until ? ` <small>(unchanged for ${d.repeats} more, until ${esc(d.until.title)})</small>` : '';
    return `<tr class="diff"><td>${esc(where)}</td><td class="what">${esc(d.what)}${tags}${extent}</td><td>${esc(d.a)}</td><td>${esc(d.b)}</td></tr>`;
  });
  return `<table class="differences"><thead><tr><th>after</th><th>what</th><th>${esc(names.a)}</th><th>${esc(names.b)}</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function sideBySide(a: ScenarioObservation, b: ScenarioObservation, names: { a: string; b: string }): string {
  const bBy = new Map(b.operations.map((o) => [o.key, o]));
  const keys = [...a.operations.map((o) => o.key), ...b.operations.filter((o) => !a.operations.some((x) => x.key === o.key)).map((o) => o.key)];
  const aBy = new Map(a.operations.map((o) => [o.key, o]));
  const parts = keys.map((key) => {
    const oa = aBy.get(key);
    const ob = bBy.get(key);
    const o = (oa ?? ob)!;
    const whats = [...new Set([...Object.keys(oa?.values ?? {}), ...Object.keys(ob?.values ?? {})])].sort();
    let differing = 0;
    const rows = whats.map((w) => {
      const va = oa ? (oa.values[w] ?? '(absent)') : '(not run)';
      const vb = ob ? (ob.values[w] ?? '(absent)') : '(not run)';
      const diff = va !== vb;
      if (diff) differing++;
      return `<tr${diff ? ' class="diff"' : ''}><td class="what">${esc(w)}</td><td>${esc(va)}</td><td>${esc(vb)}</td></tr>`;
    });
    const head = `<summary><h3>${esc(opLabel(o))}</h3> ${differing ? `<span class="bad">${differing} differing</span>` : '<span class="ok">same</span>'}</summary>`;
    return `<details class="operation" data-key="${esc(key)}"${differing ? ' open' : ''}>${head}<table><colgroup><col class="what"><col><col></colgroup><thead><tr><th>what</th><th>${esc(names.a)}</th><th>${esc(names.b)}</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
  });
  const streams = [...new Set([...a.states.map((s) => s.what), ...b.states.map((s) => s.what)])].sort();
  for (const what of streams) {
    const list = (o: ScenarioObservation) => (o.states.find((s) => s.what === what)?.states ?? []).map((s) => `${esc(s.value)}${s.settledAfter.length ? '' : ' <span class="tag">in between</span>'}`).join('<br>');
    parts.push(`<details class="states"><summary><h3>${esc(what)}: states in order</h3></summary><table><thead><tr><th>${esc(names.a)}</th><th>${esc(names.b)}</th></tr></thead><tbody><tr><td>${list(a)}</td><td>${list(b)}</td></tr></tbody></table></details>`);
  }
  return parts.join('\n');
}

function scenarioSection(c: ScenarioComparison, obs: { a: ScenarioObservation; b: ScenarioObservation } | undefined, names: { a: string; b: string }): string {
  const counted = c.differences.filter((d) => !d.race).length;
  const head = `<h2 id="${esc(c.name)}">${counted ? '<span class="bad">✗</span>' : '<span class="ok">✓</span>'} ${esc(c.name)} <small>(${esc(c.file)})</small></h2>`;
  if (c.skipped) return `${head}<p>skipped: ${c.skipped.map((s) => `on ${esc(s.backend)}: ${esc(s.reason)}`).join('; ')}</p>`;
  const failed = c.failedOn ? `<p class="bad">the scenario failed on ${esc(c.failedOn.join(' and '))}</p>` : '';
  return `<section class="scenario">${head}${failed}<p>${c.operationsCompared} operations compared, ${counted} differences</p>${differenceRows(c.differences, names)}${obs ? sideBySide(obs.a, obs.b, names) : ''}</section>`;
}

export function renderFidelityHtml(r: FidelityResult): string {
  const names = r.backends.a === r.backends.b ? { a: `${r.backends.a} (A)`, b: `${r.backends.b} (B)` } : r.backends;
  const t = r.totals;
  const title = `${t.differences ? '✗' : '✓'} sriov-lab fidelity ${r.backends.a} vs ${r.backends.b} — ${t.differences} difference${t.differences === 1 ? '' : 's'}`;
  const summary = r.comparisons
    .map((c) => `<tr><td><a href="#${esc(c.name)}">${esc(c.name)}</a></td><td>${c.skipped ? 'skipped' : c.operationsCompared}</td><td>${c.skipped ? '' : c.differences.filter((d) => !d.race).length}</td><td>${c.differences.filter((d) => d.transient).length}</td><td>${c.differences.filter((d) => d.race).length}</td></tr>`)
    .join('');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">`,
    '<meta name="generator" content="sriov-lab">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(title)}</h1>`,
    `<p>seed ${r.seed}${r.jitterMs ? `, jitter ${r.jitterMs} ms` : ''}; ${t.scenarios} scenarios (${t.compared} compared, ${t.skipped} skipped), ${t.operations} operations compared, ${t.differences} differences (${t.transient} transient)${t.races ? `, ${t.races} races not counted` : ''}${r.interrupted ? '; interrupted' : ''}</p>`,
    `<table class="summary"><thead><tr><th>scenario</th><th>operations</th><th>differences</th><th>transient</th><th>races</th></tr></thead><tbody>${summary}</tbody></table>`,
    ...r.comparisons.map((c, i) => scenarioSection(c, r.observations?.[i], names)),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
