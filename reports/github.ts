// GitHub Actions as a reporter: the workflow commands GitHub reads from a step's stdout (a ::group:: per scenario,
// ::error annotations at the scenario file and line of each failed operation), the job summary
// ($GITHUB_STEP_SUMMARY, cut to GitHub's 1 MiB) and the step outputs ($GITHUB_OUTPUT). `sriov-lab run` adds it
// only when it runs on GitHub (GITHUB_ACTIONS=true, or --github); nothing here is printed otherwise.
import { randomBytes } from 'node:crypto';
import { appendFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { diffOf } from './diff.ts';
import { scenarioLog } from './junit.ts';
import { capMarkdown, renderMarkdown } from './markdown.ts';
import type { Reporter } from './reporter.ts';
import { failuresFirst, runTotals, type ResultError, type RunResult, type SourceLocation } from './types.ts';

/** GitHub's cap on one step's summary: a bigger file is not shown at all */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024;
/** GitHub shows at most 10 error annotations per step (50 per job); the rest are counted in the summary */
export const MAX_ANNOTATIONS = 10;
/** an annotation's message beyond this is cut (the summary and the reports have all of it) */
const ANNOTATION_MESSAGE_BYTES = 4096;

/** a workflow command's message: %, CR and LF would end or corrupt the command */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** a workflow command's property value: also : and , which separate properties */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::name k=v,k=v::message` with every part escaped */
export function workflowCommand(name: string, props: Record<string, string | number | undefined>, message: string): string {
  const p = Object.entries(props)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${name}${p ? ` ${p}` : ''}::${escapeData(message)}`;
}

export interface Annotation {
  file: string;
  line: number;
  column?: number;
  title: string;
  message: string;
}

function clip(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const buf = Buffer.from(s).subarray(0, maxBytes);
  // drop a partial UTF-8 sequence at the cut
  return `${buf.toString('utf8').replace(/\uFFFD$/, '')}\n… (cut; the full text is in the reports)`;
}

function messageOf(error: ResultError): string {
  const diff = diffOf(error);
  return clip(`${error.name}: ${error.message}${diff ? `\n\n${diff.trimEnd()}` : ''}`, ANNOTATION_MESSAGE_BYTES);
}

/**
 * One annotation per failed operation, failed scenarios in run order; a failure outside every operation (a step's
 * own, or the scenario's: up, down) is annotated at the step or the scenario. `file` maps a result's file (relative
 * to the run's working directory) to the path GitHub knows (relative to the repository).
 */
export function failureAnnotations(run: RunResult, file: (f: string) => string = (f) => f): Annotation[] {
  const out: Annotation[] = [];
  const at = (l: SourceLocation | undefined, fallbackFile: string): Pick<Annotation, 'file' | 'line' | 'column'> =>
    l ? { file: file(l.file), line: l.line, column: l.column } : { file: file(fallbackFile), line: 1 };
  for (const s of failuresFirst(run.scenarios)) {
    if (s.status !== 'failed') break;
    let found = false;
    for (const step of s.steps) {
      for (const op of step.operations) {
        if (op.status !== 'failed' || !op.error) continue;
        found = true;
        out.push({ ...at(op.error.location ?? op.location, s.file), title: `${s.name} › ${step.name} › ${op.title}`, message: messageOf(op.error) });
      }
      if (step.error) {
        found = true;
        out.push({ ...at(step.error.location ?? step.location, s.file), title: `${s.name} › ${step.name}`, message: messageOf(step.error) });
      }
    }
    if (s.error) {
      out.push({ ...at(s.error.location ?? s.location, s.file), title: s.name, message: messageOf(s.error) });
    } else if (!found) {
      out.push({ ...at(s.location, s.file), title: s.name, message: 'scenario failed' });
    }
  }
  return out;
}

export function annotationCommand(a: Annotation): string {
  return workflowCommand('error', { file: a.file, line: a.line, col: a.column, title: a.title }, a.message);
}

/**
 * One `$GITHUB_OUTPUT` entry: `name=value`, or the heredoc form (`name<<DELIM`, the lines, `DELIM`) for a value
 * with a line break, with a random delimiter that does not occur in the value.
 */
export function outputEntry(name: string, value: string, delimiter = () => `ghadelimiter_${randomBytes(12).toString('hex')}`): string {
  if (!/[\r\n]/.test(value)) return `${name}=${value}\n`;
  let d = delimiter();
  while (value.includes(d)) d = delimiter();
  return `${name}<<${d}\n${value}\n${d}\n`;
}

export interface GithubReporterOptions {
  /** where the workflow commands go (the step's stdout) */
  stdout: { write(s: string): unknown };
  env: Record<string, string | undefined>;
  /** the working directory of the run: the results' files are relative to it */
  cwd: string;
  /** the report files this run writes, for the outputs */
  files?: { html?: string; junit?: string; json?: string };
  /** default: fs.appendFileSync (GitHub's files are appended to, as other steps may write to them too) */
  appendFile?: (path: string, text: string) => void;
  /** bytes already in the summary file (default: its size) */
  summarySize?: (path: string) => number;
}

/** a result file as GitHub names it: relative to $GITHUB_WORKSPACE when inside it, else absolute */
export function workspacePath(file: string, cwd: string, workspace: string | undefined): string {
  const abs = resolve(cwd, file);
  if (!workspace) return relative(cwd, abs) || file;
  const rel = relative(workspace, abs);
  return rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : abs;
}

export function githubReporter(o: GithubReporterOptions): Reporter {
  const append = o.appendFile ?? ((path: string, text: string) => appendFileSync(path, text));
  const sizeOf =
    o.summarySize ??
    ((path: string) => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    });
  const write = (line: string) => o.stdout.write(`${line}\n`);
  return {
    name: 'github',
    onScenarioBegin(s) {
      write(`::group::${escapeData(`${s.name} (${s.file})`)}`);
    },
    onScenarioEnd(s) {
      const log = s.status === 'skipped' ? `skipped: ${s.skipReason ?? 'no reason given'}\n` : scenarioLog(s);
      // a line of the log that looks like a workflow command must not be taken for one
      o.stdout.write(log.replace(/^(\s*)::/gm, '$1: :'));
      write('::endgroup::');
    },
    onRunEnd(run) {
      const annotations = failureAnnotations(run, (f) => workspacePath(f, o.cwd, o.env.GITHUB_WORKSPACE));
      const shown = annotations.slice(0, MAX_ANNOTATIONS);
      for (const a of shown) write(annotationCommand(a));
      const notes: string[] = [];
      if (annotations.length > shown.length) {
        notes.push(
          `${annotations.length} failed operations: the first ${shown.length} are annotated in the files, ` +
            `${annotations.length - shown.length} more are not (GitHub shows ${MAX_ANNOTATIONS} annotations per step); every failure is listed below.`,
        );
      }
      const summaryFile = o.env.GITHUB_STEP_SUMMARY;
      if (summaryFile) {
        const budget = Math.max(0, SUMMARY_LIMIT_BYTES - sizeOf(summaryFile));
        const where = [o.files?.html && `the HTML report (${o.files.html})`, o.files?.junit && `the JUnit file (${o.files.junit})`].filter(Boolean).join(' and ');
        const md = capMarkdown(
          renderMarkdown(run, { notes }),
          budget,
          (left) => `> **This summary was cut** to fit GitHub's 1 MiB limit for a step summary: ${left} bytes left out.${where ? ` Everything is in ${where}.` : ''}`,
        );
        append(summaryFile, md.endsWith('\n') ? md : `${md}\n`);
      }
      const outputFile = o.env.GITHUB_OUTPUT;
      if (outputFile) {
        const t = runTotals(run);
        const outputs: Array<[string, string]> = [
          ['passed', String(t.passed)],
          ['failed', String(t.failed)],
          ['skipped', String(t.skipped)],
          ['report-html', o.files?.html ?? ''],
          ['junit', o.files?.junit ?? ''],
          ['json', o.files?.json ?? ''],
          ['reproduce', run.run.reproduceCommand],
        ];
        append(outputFile, outputs.map(([k, v]) => outputEntry(k, v)).join(''));
      }
    },
  };
}
