// Runs the benchmarks of bench/ one at a time, each in a process of its own, and ends with one table of them all.
//   npm run bench [-- NAME…] [-- --list] [-- NAME… -- ARG…]   (ARGs go to every benchmark run)
// A benchmark is every bench/<name>.ts but this file and tests. One that cannot run here says so with a line
// starting "skipped" and exits 0; it is then reported as skipped rather than ok.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, UsageError } from '../harness/cli/args.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));

export interface Benchmark {
  name: string;
  file: string;
}

export type BenchStatus = 'ok' | 'failed' | 'skipped' | 'not run';

export interface BenchResult {
  name: string;
  status: BenchStatus;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
}

export function listBenchmarks(dir = benchDir): Benchmark[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
    .sort()
    .map((f) => ({ name: f.slice(0, -'.ts'.length), file: join(dir, f) }));
}

/** The first line of the comment a file starts with (`//` lines or a block comment), or '' when it has none. */
export function leadingCommentLine(source: string): string {
  const text = source.replace(/^#!.*\n/, '').trimStart();
  const line = text.startsWith('//') ? text.slice(2) : text.startsWith('/*') ? text.replace(/^\/\*+/, '') : '';
  return line.split('\n')[0].replace(/\*\/.*$/, '').trim();
}

/** A line of its output that starts with "skipped" is how a benchmark says it could not run here. */
export function saysSkipped(output: string): boolean {
  return /^\s*skipped\b/im.test(output);
}

export function statusOf(exitCode: number | null, signal: NodeJS.Signals | null, output: string): BenchStatus {
  if (exitCode !== 0 || signal !== null) return 'failed';
  return saysSkipped(output) ? 'skipped' : 'ok';
}

function statusText(r: BenchResult): string {
  switch (r.status) {
    case 'failed':
      return r.signal !== null ? `failed (signal ${r.signal})` : `failed (exit ${r.exitCode})`;
    case 'ok':
    case 'skipped':
    case 'not run':
      return r.status;
  }
}

function wallTime(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${((ms % 60_000) / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function renderTable(results: readonly BenchResult[]): string {
  const rows = [['benchmark', 'status', 'wall time'], ...results.map((r) => [r.name, statusText(r), r.status === 'not run' ? '' : wallTime(r.durationMs)])];
  const widths = [0, 1].map((c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map(([name, status, time]) => `${name.padEnd(widths[0])}  ${status.padEnd(widths[1])}  ${time.padStart(9)}`.trimEnd()).join('\n') + '\n';
}

/** Runs one benchmark with its output passed through as it comes, and keeps the output to look for "skipped". */
function runOne(b: Benchmark, args: readonly string[]): Promise<BenchResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', b.file, ...args], { cwd: join(benchDir, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d);
    });
    const done = (exitCode: number | null, signal: NodeJS.Signals | null) =>
      resolve({ name: b.name, status: statusOf(exitCode, signal, output), exitCode, signal, durationMs: performance.now() - t0 });
    child.on('error', (e) => {
      process.stderr.write(`bench/run: cannot start ${b.name}: ${e.message}\n`);
      done(null, null);
    });
    child.on('close', done);
  });
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals, command: benchArgs } = parse(argv, { list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  const all = listBenchmarks();
  if (values.help) {
    process.stdout.write(`usage: npm run bench [-- NAME…] [-- --list] [-- NAME… -- ARG…]\nbenchmarks: ${all.map((b) => b.name).join(', ')}\n`);
    return 0;
  }
  const unknown = positionals.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) throw new UsageError(`no benchmark ${unknown.map((n) => `"${n}"`).join(', ')} in bench/; there are: ${all.map((b) => b.name).join(', ')}`);
  const chosen = positionals.length > 0 ? [...new Set(positionals)].map((n) => all.find((b) => b.name === n)!) : all;
  if (values.list) {
    const w = Math.max(...chosen.map((b) => b.name.length));
    for (const b of chosen) process.stdout.write(`${b.name.padEnd(w)}  ${leadingCommentLine(readFileSync(b.file, 'utf8'))}\n`);
    return 0;
  }
  // Ctrl-C reaches the running benchmark too (same process group); the ones after it are not started
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
  });
  const results: BenchResult[] = [];
  for (const b of chosen) {
    if (interrupted) {
      results.push({ name: b.name, status: 'not run', exitCode: null, signal: null, durationMs: 0 });
      continue;
    }
    process.stdout.write(`\n=== ${b.name} ===\n`);
    results.push(await runOne(b, benchArgs));
  }
  process.stdout.write(`\n${renderTable(results)}`);
  if (interrupted) return 130;
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`bench/run: ${(e as Error).message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    },
  );
}
