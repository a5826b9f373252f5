// A Markdown summary for a CI job summary (GitHub's $GITHUB_STEP_SUMMARY, GitLab MR notes): totals, run metadata,
// failures first with the diff and the reproduce command, then skips; passes folded away.
import { diffOf } from './diff.ts';
import { formatDuration } from './terminal.ts';
import { failuresFirst, firstError, runTotals, type RunResult, type ScenarioResult } from './types.ts';

/** text safe in a table cell or a line: Markdown and HTML specials escaped, newlines folded */
export function mdText(s: string): string {
  return s
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]|<>~]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;');
}

/** a fenced block whose fence is longer than any backtick run inside */
export function fence(body: string, lang = ''): string {
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${lang}\n${body.trimEnd()}\n${f}`;
}

function code(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${f}${pad}${s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|')}${pad}${f}`;
}

function failure(s: ScenarioResult): string[] {
  const out: string[] = [];
  const loc = s.location ? `${s.file}:${s.location.line}` : s.file;
  out.push(`### ❌ ${mdText(s.name)}`, '', `${code(loc)} · ${formatDuration(s.durationMs)}`);
  const found = firstError(s);
  if (found) {
    const { error, step, operation } = found;
    if (step) out.push('', `Step **${mdText(step.name)}**${operation ? ` › ${mdText(operation.title)}` : ''}`);
    const where = error.location ?? operation?.location;
    out.push('', `**${mdText(error.name)}**: ${mdText(error.message)}${where ? ` (${code(`${where.file}:${where.line}:${where.column}`)})` : ''}`);
    const diff = diffOf(error);
    if (diff) out.push('', fence(diff, 'diff'));
  }
  out.push('', 'Reproduce:', '', fence(s.reproduceCommand, 'sh'), '');
  return out;
}

export interface MarkdownOptions {
  title?: string;
  reportUrl?: string;
  /** lines shown right after the totals, as a quote (e.g. what a CI job left out) */
  notes?: string[];
}

export function renderMarkdown(run: RunResult, options: MarkdownOptions = {}): string {
  const t = runTotals(run);
  const m = run.run;
  const icon = t.status === 'passed' ? '✅' : '❌';
  const out: string[] = [];
  out.push(`## ${icon} ${mdText(options.title ?? 'sriov-lab scenarios')}`, '');
  out.push('| scenarios | ✅ passed | ❌ failed | ⏭️ skipped | duration |', '|---:|---:|---:|---:|---:|');
  out.push(`| ${t.total} | ${t.passed} | ${t.failed} | ${t.skipped} | ${formatDuration(t.durationMs)} |`, '');
  if (m.interrupted) out.push('> **The run was interrupted**: not every scenario ran.', '');
  for (const note of options.notes ?? []) out.push(`> ${note}`, '');
  const plugins = m.plugins
    .map((p) => `${mdText(p.name)}${p.version ? ` ${mdText(p.version)}` : ''}${p.sha256 ? ` (${code(`sha256:${p.sha256.slice(0, 12)}`)})` : ''}${p.bundled ? '' : ' — third-party'}`)
    .join(', ');
  const nics = [...new Set(m.nics.map((n) => `${n.model} (${n.vendorDevice})`))].map(mdText).join(', ');
  out.push(
    `Backend **${mdText(m.backend)}**${m.backendDetail ? ` (${mdText(m.backendDetail)})` : ''} · seed ${code(String(m.seed))} · kernel ${code(m.kernel.release)} · host ${mdText(m.host.hostname)}`,
  );
  if (plugins) out.push('', `Plugins: ${plugins}`);
  if (nics) out.push('', `NICs: ${nics}`);
  if (options.reportUrl) out.push('', `[Full HTML report](${options.reportUrl})`);
  out.push('');
  const ordered = failuresFirst(run.scenarios);
  for (const s of ordered.filter((x) => x.status === 'failed')) out.push(...failure(s));
  const skipped = ordered.filter((x) => x.status === 'skipped');
  if (skipped.length > 0) {
    out.push(`### ⏭️ Skipped (${skipped.length})`, '', '| scenario | file | reason |', '|---|---|---|');
    for (const s of skipped) out.push(`| ${mdText(s.name)} | ${code(s.file)} | ${mdText(s.skipReason ?? '')} |`);
    out.push('');
  }
  const passed = ordered.filter((x) => x.status === 'passed');
  if (passed.length > 0) {
    out.push(`<details><summary>✅ Passed (${passed.length})</summary>`, '', '| scenario | file | duration |', '|---|---|---:|');
    for (const s of passed) out.push(`| ${mdText(s.name)} | ${code(s.file)} | ${formatDuration(s.durationMs)} |`);
    out.push('', '</details>', '');
  }
  if (t.failed > 0) out.push('Re-run everything:', '', fence(m.reproduceCommand, 'sh'), '');
  return `${out.join('\n')}`;
}

/**
 * `md` cut at a line boundary to at most `maxBytes` (UTF-8), with `note(bytesLeftOut)` at the end; a fenced block or
 * a <details> open at the cut is closed first, so what follows the cut still renders. Unchanged when it fits.
 */
export function capMarkdown(md: string, maxBytes: number, note: (bytesLeftOut: number) => string): string {
  const total = Buffer.byteLength(md);
  if (total <= maxBytes) return md;
  const lines = md.split('\n');
  const kept: string[] = [];
  let used = 0;
  let openFence: string | undefined;
  let openDetails = 0;
  const closing = () => `${openFence ? `${openFence}\n` : ''}${'</details>\n'.repeat(openDetails)}`;
  // the tail (closers and note) is at most this long; its exact size depends on how much was left out
  const tailBudget = Buffer.byteLength(note(total)) + 64;
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1;
    const fence = /^(`{3,})/.exec(line)?.[1];
    let nextFence = openFence;
    if (fence && !openFence) nextFence = fence;
    else if (openFence && line.startsWith(openFence) && line.trim() === openFence) nextFence = undefined;
    const nextDetails = openDetails + (/<details>/.test(line) ? 1 : 0) - (/<\/details>/.test(line) ? 1 : 0);
    const closers = Buffer.byteLength(`${nextFence ? `${nextFence}\n` : ''}${'</details>\n'.repeat(Math.max(0, nextDetails))}`);
    if (used + size + closers + tailBudget > maxBytes) break;
    kept.push(line);
    used += size;
    openFence = nextFence;
    openDetails = Math.max(0, nextDetails);
  }
  const head = `${kept.join('\n')}\n${closing()}`;
  return `${head}\n${note(total - Buffer.byteLength(kept.join('\n')))}\n`;
}
