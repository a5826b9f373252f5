// Re-rendering a saved run: `sriov-lab report FILE.json --html F --junit F --markdown F --json F` calls
// reportCommand(args), which reads the run, validates it and calls renderReport.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { renderHtml } from './html.ts';
import { parseRunResult, serializeRunResult } from './json.ts';
import { renderJUnit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { renderTerminalSummary } from './terminal.ts';
import type { RunResult } from './types.ts';

export interface RenderTargets {
  html?: string;
  junit?: string;
  json?: string;
  markdown?: string;
}

export interface RenderedFile {
  kind: keyof RenderTargets;
  path: string;
  bytes: number;
}

/** writes each requested format; parent directories are created */
export async function renderReport(run: RunResult, targets: RenderTargets): Promise<RenderedFile[]> {
  const renderers: Record<keyof RenderTargets, (r: RunResult) => string> = {
    html: (r) => renderHtml(r),
    junit: renderJUnit,
    json: (r) => serializeRunResult(r),
    markdown: (r) => renderMarkdown(r),
  };
  const written: RenderedFile[] = [];
  for (const kind of ['json', 'junit', 'markdown', 'html'] as const) {
    const path = targets[kind];
    if (!path) continue;
    const text = renderers[kind](run);
    await mkdir(dirname(resolve(path)), { recursive: true });
    await writeFile(path, text);
    written.push({ kind, path, bytes: Buffer.byteLength(text) });
  }
  return written;
}

export async function loadRunResult(file: string): Promise<RunResult> {
  return parseRunResult(await readFile(file, 'utf8'), file);
}

/** a usage mistake: the CLI prints it with the usage text and exits 2 */
export class ReportUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportUsageError';
  }
}

export const REPORT_USAGE =
  'usage: sriov-lab report RUN.json [--html FILE] [--junit FILE] [--markdown FILE] [--json FILE] [--quiet]\n' +
  '  re-renders a saved run (the JSON a run wrote with --json); without a target it prints the summary only.\n' +
  '  Exit code: 0 when the files were written (whatever the run\'s outcome), 2 on a usage or input error.\n';

export function parseReportArgs(args: readonly string[]): { input: string; targets: RenderTargets; quiet: boolean } {
  const targets: RenderTargets = {};
  let input: string | undefined;
  let quiet = false;
  const flags: Record<string, keyof RenderTargets> = { '--html': 'html', '--junit': 'junit', '--markdown': 'markdown', '--md': 'markdown', '--json': 'json' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag in flags) {
      const value = inline ?? args[++i];
      if (!value || value.startsWith('--')) throw new ReportUsageError(`${flag} needs a file name`);
      targets[flags[flag]] = value;
    } else if (flag === '--quiet' || flag === '-q') {
      quiet = true;
    } else if (flag.startsWith('-')) {
      throw new ReportUsageError(`unknown option ${flag}`);
    } else if (input === undefined) {
      input = a;
    } else {
      throw new ReportUsageError(`one run file only (got ${input} and ${a})`);
    }
  }
  if (!input) throw new ReportUsageError('which run? give the JSON file a run wrote');
  return { input, targets, quiet };
}

/** the `report` sub-command: returns the exit code */
export async function reportCommand(
  args: string[],
  io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } } = process,
): Promise<number> {
  let parsed: ReturnType<typeof parseReportArgs>;
  try {
    parsed = parseReportArgs(args);
  } catch (e) {
    io.stderr.write(`sriov-lab report: ${(e as Error).message}\n${REPORT_USAGE}`);
    return 2;
  }
  let run: RunResult;
  try {
    run = await loadRunResult(parsed.input);
  } catch (e) {
    io.stderr.write(`sriov-lab report: ${(e as Error).message}\n`);
    return 2;
  }
  const written = await renderReport(run, parsed.targets);
  if (!parsed.quiet) io.stdout.write(renderTerminalSummary(run).replace(/^\n/, ''));
  for (const f of written) io.stdout.write(`wrote ${f.kind} ${f.path} (${f.bytes} bytes)\n`);
  return 0;
}
