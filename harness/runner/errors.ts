// Errors of a run. Each carries fields, not only prose (so a report can show them); `toResultError` turns any into the
// run-result contract's ResultError with the failing operation's location, expected/actual and a diff.
import type { JsonValue, ResultError, SourceLocation } from '../../reports/types.ts';
import { toJsonValue } from '../../reports/json.ts';

/** a wait (assert, error, sysfs value) ran out of time */
export class WaitTimeoutError extends Error {
  readonly waitingFor: string;
  readonly timeoutMs: number;
  /** the last state seen, rendered like the expectation (YAML) */
  readonly lastObserved: string;
  readonly expected?: string;
  readonly diff?: string;
  readonly mismatches: string[];
  constructor(fields: { waitingFor: string; timeoutMs: number; lastObserved: string; expected?: string; diff?: string; mismatches?: string[] }) {
    const first = fields.mismatches?.[0];
    const more = (fields.mismatches?.length ?? 0) > 1 ? ` (and ${fields.mismatches!.length - 1} more)` : '';
    super(`${fields.waitingFor}: not satisfied after ${fields.timeoutMs}ms${first ? `: ${first}${more}` : ''}`);
    this.name = 'WaitTimeoutError';
    this.waitingFor = fields.waitingFor;
    this.timeoutMs = fields.timeoutMs;
    this.lastObserved = fields.lastObserved;
    this.expected = fields.expected;
    this.diff = fields.diff;
    this.mismatches = fields.mismatches ?? [];
  }
}

/** an expectation failed outright (an `error` object still matches, a sysfs value, an exec's output) */
export class ExpectationError extends Error {
  readonly expected?: string;
  readonly actual?: string;
  readonly diff?: string;
  readonly details: { [key: string]: JsonValue };
  constructor(message: string, fields: { expected?: string; actual?: string; diff?: string; details?: { [key: string]: JsonValue } } = {}) {
    super(message);
    this.name = 'ExpectationError';
    this.expected = fields.expected;
    this.actual = fields.actual;
    this.diff = fields.diff;
    this.details = fields.details ?? {};
  }
}

/** a command (exec, ip, script) did not meet its expectations; a result with every field of a successful run */
export class ExecError extends Error {
  readonly command: string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly shortMessage: string;
  readonly expected?: string;
  readonly actual?: string;
  constructor(fields: { command: string[]; exitCode: number | null; stdout: string; stderr: string; durationMs: number; problem: string; expected?: string; actual?: string }) {
    const short = `${fields.command.join(' ')}: ${fields.problem}`;
    const tail = fields.stderr.trim() ? `\nstderr: ${fields.stderr.trim().split('\n').slice(-5).join('\n')}` : '';
    super(`${short}${tail}`);
    this.name = 'ExecError';
    this.shortMessage = short;
    this.command = fields.command;
    this.exitCode = fields.exitCode;
    this.stdout = fields.stdout;
    this.stderr = fields.stderr;
    this.durationMs = fields.durationMs;
    this.expected = fields.expected;
    this.actual = fields.actual;
  }
}

/** a sysfs read or write did not end as the scenario expected */
export class SysfsError extends Error {
  readonly node: string;
  readonly path: string;
  readonly op: 'read' | 'write';
  /** errno name of the failure; '' when the call succeeded but should have failed */
  readonly errno: string;
  constructor(fields: { node: string; path: string; op: 'read' | 'write'; errno: string; message: string }) {
    super(fields.message);
    this.name = 'SysfsError';
    this.node = fields.node;
    this.path = fields.path;
    this.op = fields.op;
    this.errno = fields.errno;
  }
}

/** the run was stopped (Ctrl-C) while this operation ran */
export class InterruptedError extends Error {
  constructor(what: string) {
    super(`interrupted during ${what}`);
    this.name = 'InterruptedError';
  }
}

/** where and in which step an operation failed; wraps the operation's own error as `cause` */
export class ScenarioError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly step: string;
  readonly operation: string;
  override readonly cause: unknown;
  constructor(fields: { location?: SourceLocation; step: string; operation: string; cause: unknown }) {
    const where = fields.location ? `${fields.location.file}:${fields.location.line}:${fields.location.column}: ` : '';
    super(`${where}step "${fields.step}": ${fields.operation}: ${errorMessage(fields.cause)}`);
    this.name = 'ScenarioError';
    this.file = fields.location?.file ?? '';
    this.line = fields.location?.line ?? 0;
    this.column = fields.location?.column ?? 0;
    this.step = fields.step;
    this.operation = fields.operation;
    this.cause = fields.cause;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const OWN_FIELDS = new Set(['name', 'message', 'stack', 'cause', 'expected', 'actual', 'diff', 'shortMessage', 'details']);

/** the contract's ResultError for any thrown value */
export function toResultError(e: unknown, location?: SourceLocation): ResultError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), ...(location ? { location } : {}) };
  const out: ResultError = { name: e.name, message: (e as { shortMessage?: string }).shortMessage ?? e.message.split('\n')[0] };
  const withText = e as { expected?: string; actual?: string; diff?: string; lastObserved?: string };
  if (withText.expected !== undefined) out.expected = withText.expected;
  if (withText.actual !== undefined) out.actual = withText.actual;
  else if (e instanceof WaitTimeoutError) out.actual = e.lastObserved;
  if (withText.diff) out.diff = withText.diff;
  if (location) out.location = location;
  if (e.stack && !(e instanceof WaitTimeoutError || e instanceof ExpectationError || e instanceof ExecError || e instanceof SysfsError)) out.stack = e.stack;
  const fields: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(e)) {
    if (OWN_FIELDS.has(k) || v === undefined) continue;
    fields[k] = toJsonValue(v);
  }
  if (e instanceof ExpectationError) Object.assign(fields, e.details);
  if (Object.keys(fields).length) out.fields = fields;
  return out;
}
