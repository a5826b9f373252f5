// The reporter pipeline: a reporter is a set of optional hooks; the runner calls them through a multiplexer.
//
// Hook order, for one run:
//
//   onRunBegin(meta, plan)                      once, before any scenario
//   for each scenario, one at a time:
//     onScenarioBegin(scenario)
//     for each step, in order:
//       onStepBegin(scenario, step)
//       onStepEnd(scenario, step result)         the step's operations are complete
//     onScenarioEnd(scenario result)             trace and attachments are complete
//   onRunEnd(run result)                         once, the whole RunResult (what the JSON reporter writes)
//
// A skipped scenario gets onScenarioBegin and onScenarioEnd with no step hooks. Each hook of one reporter finishes
// (its promise settles) before the next hook of that reporter is called.
import type { RunMeta, RunResult, ScenarioResult, Status, StepResult } from './types.ts';

/** what is known about a scenario before it runs */
export interface ScenarioInfo {
  id: string;
  file: string;
  name: string;
  tags: string[];
  resources: string[];
}

export interface StepInfo {
  name: string;
  /** 0-based index of the step in its scenario */
  index: number;
}

export interface Reporter {
  /** used in error messages when the reporter fails */
  readonly name: string;
  onRunBegin?(meta: RunMeta, plan: ScenarioInfo[]): void | Promise<void>;
  onScenarioBegin?(scenario: ScenarioInfo): void | Promise<void>;
  onStepBegin?(scenario: ScenarioInfo, step: StepInfo): void | Promise<void>;
  onStepEnd?(scenario: ScenarioInfo, step: StepResult & { index: number }): void | Promise<void>;
  onScenarioEnd?(scenario: ScenarioResult): void | Promise<void>;
  onRunEnd?(run: RunResult): void | Promise<void>;
}

export type HookName = Exclude<keyof Reporter, 'name'>;

export const HOOK_ORDER: readonly HookName[] = [
  'onRunBegin',
  'onScenarioBegin',
  'onStepBegin',
  'onStepEnd',
  'onScenarioEnd',
  'onRunEnd',
];

/** one reporter failed in one hook; the others went on */
export class ReporterError extends Error {
  readonly reporter: string;
  readonly hook: HookName;
  override readonly cause: unknown;
  constructor(reporter: string, hook: HookName, cause: unknown, timeoutMs?: number) {
    const why =
      timeoutMs !== undefined
        ? `did not finish within ${timeoutMs}ms`
        : `threw: ${cause instanceof Error ? cause.message : String(cause)}`;
    super(`reporter "${reporter}" ${hook} ${why}`);
    this.name = 'ReporterError';
    this.reporter = reporter;
    this.hook = hook;
    this.cause = cause;
  }
}

export interface MultiplexOptions {
  /** a hook that has not settled after this long counts as failed and the run goes on (default 30000) */
  hookTimeoutMs?: number;
  /** called once per failure; default: write one line to stderr */
  onReporterError?: (err: ReporterError) => void;
}

export interface MultiplexReporter extends Reporter {
  /** every failure so far, in order */
  readonly errors: readonly ReporterError[];
}

/**
 * Calls every reporter for each hook, in the order given. A reporter that throws, rejects or times out is reported
 * through `onReporterError` and recorded in `errors`; the other reporters still get the hook, and the failing one
 * still gets later hooks (a JSON file can still be written after the terminal broke).
 */
export function multiplex(reporters: readonly Reporter[], options: MultiplexOptions = {}): MultiplexReporter {
  const hookTimeoutMs = options.hookTimeoutMs ?? 30_000;
  const onError =
    options.onReporterError ?? ((e: ReporterError) => process.stderr.write(`sriov-lab: ${e.message}\n`));
  const errors: ReporterError[] = [];

  async function callOne(r: Reporter, hook: HookName, args: unknown[]): Promise<void> {
    const fn = r[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
    if (typeof fn !== 'function') return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = Promise.resolve().then(() => fn.apply(r, args));
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), hookTimeoutMs);
      });
      const outcome = await Promise.race([result, timeout]);
      if (outcome === 'timeout') {
        // a late rejection of the abandoned hook must not surface as an unhandled rejection
        result.catch(() => undefined);
        record(new ReporterError(r.name, hook, undefined, hookTimeoutMs));
      }
    } catch (e) {
      record(new ReporterError(r.name, hook, e));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  function record(e: ReporterError): void {
    errors.push(e);
    try {
      onError(e);
    } catch {
      // the error sink itself must not break the run
    }
  }

  async function callAll(hook: HookName, args: unknown[]): Promise<void> {
    for (const r of reporters) await callOne(r, hook, args);
  }

  return {
    name: 'multiplex',
    errors,
    onRunBegin: (meta, plan) => callAll('onRunBegin', [meta, plan]),
    onScenarioBegin: (s) => callAll('onScenarioBegin', [s]),
    onStepBegin: (s, step) => callAll('onStepBegin', [s, step]),
    onStepEnd: (s, step) => callAll('onStepEnd', [s, step]),
    onScenarioEnd: (s) => callAll('onScenarioEnd', [s]),
    onRunEnd: (run) => callAll('onRunEnd', [run]),
  };
}

export function scenarioInfo(s: ScenarioResult): ScenarioInfo {
  return { id: s.id, file: s.file, name: s.name, tags: s.tags, resources: s.resources };
}

/**
 * Feeds a finished run through a reporter's hooks in the documented order, as if it were running now. Used by
 * `sriov-lab report` (a saved run through the terminal reporter) and by tests of reporters.
 */
export async function replay(run: RunResult, reporter: Reporter): Promise<void> {
  const plan = run.scenarios.map(scenarioInfo);
  await reporter.onRunBegin?.(run.run, plan);
  for (const s of run.scenarios) {
    const info = scenarioInfo(s);
    await reporter.onScenarioBegin?.(info);
    if (s.status !== 'skipped') {
      for (const [index, step] of s.steps.entries()) {
        await reporter.onStepBegin?.(info, { name: step.name, index });
        await reporter.onStepEnd?.(info, { ...step, index });
      }
    }
    await reporter.onScenarioEnd?.(s);
  }
  await reporter.onRunEnd?.(run);
}

export const STATUS_SYMBOL: Record<Status, string> = { passed: '✓', failed: '✗', skipped: '-' };
