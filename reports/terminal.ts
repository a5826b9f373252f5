// The terminal reporter: one line per scenario while the run goes (plus the current step on a TTY), and at the end
// the failures first — each with where it failed, the diff and the command that reproduces it — then skips and totals.
import { diffOf } from './diff.ts';
import { STATUS_SYMBOL, type Reporter, type ScenarioInfo } from './reporter.ts';
import { failuresFirst, firstError, runTotals, type RunResult, type ScenarioResult, type Status } from './types.ts';

export interface TerminalSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface TerminalOptions {
  /** default process.stdout */
  stream?: TerminalSink;
  /** ANSI colours; default: the stream is a TTY and NO_COLOR is unset */
  color?: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1, cyan: 36 } as const;
type Paint = (c: keyof typeof CODES, s: string) => string;

function painter(color: boolean): Paint {
  return color ? (c, s) => `\u001b[${CODES[c]}m${s}\u001b[0m` : (_c, s) => s;
}

const STATUS_COLOR: Record<Status, keyof typeof CODES> = { passed: 'green', failed: 'red', skipped: 'yellow' };

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms - m * 60_000) / 1000)}s`;
}

export function scenarioLine(s: ScenarioResult, color = false): string {
  const p = painter(color);
  const tail = s.status === 'skipped' ? p('dim', ` (skipped: ${s.skipReason ?? 'no reason'})`) : p('dim', ` (${formatDuration(s.durationMs)})`);
  return `  ${p(STATUS_COLOR[s.status], STATUS_SYMBOL[s.status])} ${s.file} › ${s.name}${tail}`;
}

/** the end-of-run block: failures first, then skips, then totals */
export function renderTerminalSummary(run: RunResult, options: { color?: boolean } = {}): string {
  const p = painter(options.color ?? false);
  const totals = runTotals(run);
  const out: string[] = [];
  const ordered = failuresFirst(run.scenarios);
  const failed = ordered.filter((s) => s.status === 'failed');
  if (failed.length > 0) {
    out.push('', p('bold', p('red', `Failures (${failed.length}):`)));
    failed.forEach((s, i) => {
      out.push('', p('bold', `${i + 1}) ${s.file}${s.location ? `:${s.location.line}` : ''} › ${s.name}`));
      const found = firstError(s);
      if (found) {
        const { error, step, operation } = found;
        const where = error.location ?? operation?.location ?? step?.location;
        if (step) out.push(`   step: ${step.name}${operation ? ` › ${operation.title}` : ''}`);
        out.push(`   ${p('red', `${error.name}: ${error.message}`)}`);
        if (where) out.push(p('dim', `   at ${where.file}:${where.line}:${where.column}`));
        const diff = diffOf(error);
        if (diff) {
          out.push('');
          for (const line of diff.trimEnd().split('\n')) {
            const c = line.startsWith('+++') || line.startsWith('---') ? 'dim' : line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : line.startsWith('@@') ? 'cyan' : undefined;
            out.push(`     ${c ? p(c, line) : line}`);
          }
        }
      } else {
        out.push(`   ${p('red', 'failed without an error record')}`);
      }
      out.push('', `   reproduce: ${p('cyan', s.reproduceCommand)}`);
    });
  }
  const skipped = ordered.filter((s) => s.status === 'skipped');
  if (skipped.length > 0) {
    out.push('', p('yellow', `Skipped (${skipped.length}):`));
    for (const s of skipped) out.push(`  - ${s.file} › ${s.name}: ${s.skipReason ?? 'no reason given'}`);
  }
  const parts = [
    totals.failed > 0 ? p('red', `${totals.failed} failed`) : `${totals.failed} failed`,
    p('green', `${totals.passed} passed`),
    totals.skipped > 0 ? p('yellow', `${totals.skipped} skipped`) : `${totals.skipped} skipped`,
  ];
  out.push(
    '',
    `${totals.total} scenario${totals.total === 1 ? '' : 's'}: ${parts.join(', ')} in ${formatDuration(totals.durationMs)}` +
      ` (backend ${run.run.backend}, seed ${run.run.seed})${run.run.interrupted ? p('red', ' — interrupted') : ''}`,
  );
  if (totals.failed > 0) out.push(`re-run all: ${run.run.reproduceCommand}`);
  return `${out.join('\n')}\n`;
}

export function terminalReporter(options: TerminalOptions = {}): Reporter {
  const stream: TerminalSink = options.stream ?? process.stdout;
  const tty = stream.isTTY === true;
  const color = options.color ?? (tty && !process.env.NO_COLOR);
  const p = painter(color);
  let planned = 0;
  let done = 0;
  let transient = false;

  function clearTransient(): void {
    if (transient) stream.write('\r\u001b[2K');
    transient = false;
  }

  return {
    name: 'terminal',
    onRunBegin(meta, plan) {
      planned = plan.length;
      stream.write(
        `sriov-lab ${meta.tool.version}: ${plan.length} scenario${plan.length === 1 ? '' : 's'} on backend ${meta.backend}` +
          ` (seed ${meta.seed}, kernel ${meta.kernel.release})\n`,
      );
    },
    onStepBegin(s: ScenarioInfo, step) {
      if (!tty) return;
      clearTransient();
      const width = Math.max(20, (stream.columns ?? 100) - 1);
      const line = `  ${p('dim', `[${done + 1}/${planned}]`)} ${s.name} › ${step.name}`;
      stream.write(line.length > width ? `${line.slice(0, width - 1)}…` : line);
      transient = true;
    },
    onScenarioEnd(s) {
      clearTransient();
      done++;
      stream.write(`${scenarioLine(s, color)}\n`);
    },
    onRunEnd(run) {
      clearTransient();
      stream.write(renderTerminalSummary(run, { color }));
    },
  };
}
