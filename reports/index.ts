// Public API of reports/: the run-result contract and every reporter over it.
export * from './types.ts';
export { multiplex, replay, scenarioInfo, ReporterError, HOOK_ORDER, type Reporter, type MultiplexReporter, type MultiplexOptions, type ScenarioInfo, type StepInfo, type HookName } from './reporter.ts';
export { jsonReporter, serializeRunResult, canonicalRunResult, parseRunResult, validateRunResult, RunResultError, toJsonValue } from './json.ts';
export { junitReporter, renderJUnit } from './junit.ts';
export { terminalReporter, renderTerminalSummary, scenarioLine, formatDuration, type TerminalOptions, type TerminalSink } from './terminal.ts';
export { renderMarkdown } from './markdown.ts';
export { htmlReporter, renderHtml, type HtmlOptions } from './html.ts';
export { renderReport, loadRunResult, reportCommand, parseReportArgs, REPORT_USAGE, type RenderTargets, type RenderedFile } from './render.ts';
export { unifiedDiff, diffOf } from './diff.ts';
