// JUnit XML as CI systems read it (GitHub test-report actions, GitLab's `artifacts:reports:junit`): one <testsuite>
// per scenario file, one <testcase> per scenario, <failure> with the diff and file:line, <skipped> with the reason,
// logs in <system-out>. Element order follows the common JUnit schema: in a testsuite, properties → testcase* →
// system-out; in a testcase, (skipped | failure | error)? → system-out.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { diffOf } from './diff.ts';
import type { Reporter } from './reporter.ts';
import { firstError, runTotals, type RunResult, type ScenarioResult, type SourceLocation } from './types.ts';

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** text an XML 1.0 document can hold: ANSI colour codes dropped, other forbidden characters shown as \uXXXX */
export function xmlSafe(s: string): string {
  return s.replace(ANSI, '').replace(NOT_XML_CHAR, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

export function escapeXmlText(s: string): string {
  return xmlSafe(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeXmlAttr(s: string): string {
  return escapeXmlText(s)
    .replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function at(l: SourceLocation | undefined): string {
  return l ? `${l.file}:${l.line}:${l.column}` : '';
}

function attrs(pairs: Array<[string, string | number | undefined]>): string {
  return pairs
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXmlAttr(String(v))}"`)
    .join('');
}

/** where a failed scenario failed, when that is in its own file (the line a CI annotation points at) */
export function failureLocation(s: ScenarioResult): SourceLocation | undefined {
  const found = firstError(s);
  const l = found ? (found.error.location ?? found.operation?.location ?? found.step?.location ?? s.location) : s.location;
  // locations may carry the path the file was loaded from, the result's file the path relative to the run
  return l && (l.file === s.file || l.file.endsWith(`/${s.file}`)) ? l : undefined;
}

/**
 * The location as a Java stack frame, `at dir.sub.Scenario(file.yaml:LINE)`: the only form dorny/test-reporter's
 * java-junit parser takes a file and line from (it matches the dotted prefix against the folders of a tracked file
 * of that name). Only when every folder reads as a Java package part (starts with a lower-case letter or _, no dot).
 */
export function javaFrame(file: string, line: number): string | undefined {
  const parts = file.split('/');
  const base = parts.pop();
  if (!base || parts.length === 0 || !parts.every((p) => /^[a-z_][^.()]*$/.test(p)) || /[()]/.test(base)) return undefined;
  return `at ${parts.join('.')}.Scenario(${base}:${line})`;
}

function failureText(s: ScenarioResult): { message: string; type: string; body: string; isError: boolean } {
  const found = firstError(s);
  if (!found) {
    return { message: 'scenario failed', type: 'Error', body: `${s.reproduceCommand}\n`, isError: true };
  }
  const { error, step, operation } = found;
  const lines: string[] = [];
  // the message first: action-junit-report shows the first two lines of the text, test-reporter the message
  lines.push(`${error.name}: ${error.message}`);
  const where = at(error.location ?? operation?.location ?? step?.location ?? s.location);
  if (where) lines.push(`    at ${where}`);
  const own = failureLocation(s);
  const frame = own && javaFrame(s.file, own.line);
  if (frame) lines.push(frame);
  if (step) lines.push(`step: ${step.name}${operation ? `\noperation: ${operation.title}` : ''}`);
  const diff = diffOf(error);
  if (diff) lines.push('', diff.trimEnd());
  else {
    if (error.expected !== undefined) lines.push('', 'expected:', error.expected.trimEnd());
    if (error.actual !== undefined) lines.push('', 'actual:', error.actual.trimEnd());
  }
  if (error.stack) lines.push('', error.stack.trimEnd());
  lines.push('', `reproduce: ${s.reproduceCommand}`);
  return { message: error.message, type: error.name, body: `${lines.join('\n')}\n`, isError: !step };
}

/** a scenario's log as plain text: steps and operations with their status, the log events, the attachments */
export function scenarioLog(s: ScenarioResult): string {
  const out: string[] = [];
  for (const step of s.steps) {
    out.push(`[${step.status}] ${step.name} (${step.durationMs}ms)`);
    for (const op of step.operations) {
      out.push(`    [${op.status}] ${op.phase && op.phase !== 'try' ? `${op.phase}: ` : ''}${op.title} (${op.durationMs}ms)`);
    }
  }
  const logs = s.trace.filter((e) => e.kind === 'log');
  if (logs.length > 0) {
    out.push('', '--- logs ---');
    for (const e of logs) {
      if (e.kind === 'log') out.push(`${e.atMs}ms ${e.node ? `${e.node} ` : ''}${e.source} ${e.level}: ${e.message}`);
    }
  }
  for (const a of s.attachments) {
    if (a.encoding === 'text') out.push('', `--- attachment ${a.name} (${a.contentType}) ---`, a.body.trimEnd());
    else out.push('', `--- attachment ${a.name} (${a.contentType}, base64, ${Buffer.from(a.body, 'base64').length} bytes): see the JSON or HTML report ---`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

export function renderJUnit(run: RunResult): string {
  const files = new Map<string, ScenarioResult[]>();
  for (const s of run.scenarios) {
    const list = files.get(s.file) ?? [];
    list.push(s);
    files.set(s.file, list);
  }
  const totals = runTotals(run);
  const props: Array<[string, string]> = [
    ['backend', run.run.backend + (run.run.backendDetail ? ` (${run.run.backendDetail})` : '')],
    ['seed', String(run.run.seed)],
    ['run.id', run.run.id],
    ['kernel', run.run.kernel.release],
    ['host', `${run.run.host.hostname} ${run.run.host.os} ${run.run.host.arch}`],
    ...run.run.plugins.map((p): [string, string] => [
      `plugin.${p.role}.${p.name}`,
      [p.version, p.sha256 && `sha256:${p.sha256}`, p.bundled ? 'bundled' : 'third-party'].filter(Boolean).join(' '),
    ]),
    ...run.run.nics.map((n, i): [string, string] => [
      `nic.${i}`,
      [n.model, n.vendorDevice, n.pciAddr, n.driver, n.node && `on ${n.node}`].filter(Boolean).join(' '),
    ]),
    ['reproduce', run.run.reproduceCommand],
  ];
  let errorsTotal = 0;
  const suites: string[] = [];
  for (const [file, scenarios] of files) {
    let failures = 0;
    let errors = 0;
    let skipped = 0;
    let ms = 0;
    const cases: string[] = [];
    for (const s of scenarios) {
      ms += s.durationMs;
      const caseAttrs = attrs([
        ['name', s.name],
        ['classname', file],
        ['file', file],
        // a failed case points at the failed operation: annotators put the annotation on this line
        ['line', (s.status === 'failed' ? failureLocation(s) : undefined)?.line ?? s.location?.line],
        ['time', seconds(s.durationMs)],
      ]);
      const inner: string[] = [];
      if (s.status === 'skipped') {
        skipped++;
        inner.push(`      <skipped${attrs([['message', s.skipReason ?? 'skipped']])}/>`);
      } else if (s.status === 'failed') {
        const f = failureText(s);
        const tag = f.isError ? 'error' : 'failure';
        if (f.isError) errors++;
        else failures++;
        inner.push(`      <${tag}${attrs([['message', f.message], ['type', f.type]])}>${escapeXmlText(f.body)}</${tag}>`);
      }
      const out = scenarioLog(s);
      if (out) inner.push(`      <system-out>${escapeXmlText(out)}</system-out>`);
      cases.push(
        inner.length > 0 ? `    <testcase${caseAttrs}>\n${inner.join('\n')}\n    </testcase>` : `    <testcase${caseAttrs}/>`,
      );
    }
    errorsTotal += errors;
    const first = scenarios.find((s) => s.startedAt)?.startedAt ?? run.run.startedAt;
    suites.push(
      [
        `  <testsuite${attrs([
          ['name', file],
          ['tests', scenarios.length],
          ['failures', failures],
          ['errors', errors],
          ['skipped', skipped],
          ['time', seconds(ms)],
          ['timestamp', first.replace(/\.\d+Z$/, '').replace(/Z$/, '')],
          ['hostname', run.run.host.hostname],
        ])}>`,
        '    <properties>',
        ...props.map(([name, value]) => `      <property${attrs([['name', name], ['value', value]])}/>`),
        '    </properties>',
        ...cases,
        '  </testsuite>',
      ].join('\n'),
    );
  }
  const head = `<testsuites${attrs([
    ['name', 'sriov-lab'],
    ['tests', totals.total],
    ['failures', totals.failed - errorsTotal],
    ['errors', errorsTotal],
    ['skipped', totals.skipped],
    ['time', seconds(run.run.durationMs)],
    ['timestamp', run.run.startedAt.replace(/\.\d+Z$/, '').replace(/Z$/, '')],
  ])}>`;
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...suites, '</testsuites>', ''].join('\n');
}

export function junitReporter(options: { outputFile: string }): Reporter {
  return {
    name: 'junit',
    async onRunEnd(run) {
      await mkdir(dirname(options.outputFile), { recursive: true });
      await writeFile(options.outputFile, renderJUnit(run));
    },
  };
}
