// Problems in the YAML files the project reads (topologies, scenarios, manifests), reported the same way everywhere:
// file:line:column of a YAML node, YAML syntax errors as issues, one issue per line (`file:line:column: field:
// message`), sorted by position, and "did you mean" for a misspelt word. Used by sim/topology, sim/cluster/manifest.ts
// and harness/scenario (harness may import sim, not the other way round).
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, YAMLError } from 'yaml';

export interface YamlIssue {
  file: string;
  /** 1-based; 0 when the input had no source text (an object built in code, an unreadable file) */
  line: number;
  column: number;
  /** path of the offending field, e.g. spec.nodes[0].nics[1].model ('' for YAML syntax errors) */
  field: string;
  message: string;
}

export interface Pos {
  line: number;
  column: number;
}

export const NO_POS: Pos = { line: 0, column: 0 };

/** `file:line:column: field: message`; without line and column when there is no source text, without field when '' */
export function formatIssue(i: YamlIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return i.field ? `${where}: ${i.field}: ${i.message}` : `${where}: ${i.message}`;
}

/** Issues of the file itself first, then by line and column (stable: equal positions keep their order). */
export function sortIssues<T extends YamlIssue>(issues: readonly T[], file: string): T[] {
  return [...issues].sort((a, b) => (a.file === b.file ? 0 : a.file === file ? -1 : 1) || a.line - b.line || a.column - b.column);
}

/** A file with problems; `issues` lists every one, the message has one line per issue under a count. */
export class YamlIssuesError extends Error {
  readonly file: string;
  readonly issues: YamlIssue[];
  /** `what` names the kind of file in the message: "topology" → "f.yaml: 2 topology errors:" */
  constructor(file: string, issues: YamlIssue[], what: string) {
    const n = issues.length;
    super(`${file}: ${n} ${what} error${n === 1 ? '' : 's'}:\n${issues.map(formatIssue).join('\n')}`);
    this.name = 'YamlIssuesError';
    this.file = file;
    this.issues = issues;
  }
  /** one line per issue, file:line:column: field: message */
  lines(): string[] {
    return this.issues.map(formatIssue);
  }
}

/** 1-based line and column of a source offset */
export function offsetPos(lc: LineCounter, offset: number): Pos {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/** where a node starts; NO_POS without a node, a range or source text */
export function nodePos(lc: LineCounter | null, node: YamlNode | null | undefined): Pos {
  const r = node?.range;
  if (!r || !lc) return NO_POS;
  return offsetPos(lc, r[0]);
}

/** how many YAML syntax errors of one document are listed: a file that is not YAML at all has one per line */
export const MAX_SYNTAX_ISSUES = 10;

/** a document's YAML syntax errors as issues (first line of each message, after `prefix`), the first ten and a count */
export function syntaxIssues(file: string, errors: readonly YAMLError[], lc: LineCounter, prefix = 'YAML: '): YamlIssue[] {
  const shown = errors.slice(0, MAX_SYNTAX_ISSUES).map((e) => ({ file, ...offsetPos(lc, e.pos[0]), field: '', message: `${prefix}${e.message.split('\n')[0]}` }));
  if (errors.length > shown.length) {
    const next = offsetPos(lc, errors[shown.length].pos[0]);
    shown.push({ file, ...next, field: '', message: `${prefix}${errors.length - shown.length} more syntax errors after these; is this a YAML file?` });
  }
  return shown;
}

/** how much of a value an error message quotes */
const QUOTE_MAX = 60;

/** a string as a message quotes it: JSON-quoted, at most QUOTE_MAX characters of it, with its length when cut */
export function quoteShort(s: string): string {
  if (s.length <= QUOTE_MAX) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, QUOTE_MAX))}… (${s.length} characters)`;
}

/** 1-based line and column of an offset in text that was not parsed */
function textPos(text: string, at: number): Pos {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  return offsetPos(lc, at);
}

/**
 * The one issue of a file that is not text (a NUL byte, or bytes that are not UTF-8): parsed as YAML it would be one
 * long string, echoed back whole.
 */
export function notTextIssue(file: string, text: string): YamlIssue | undefined {
  const nul = text.indexOf('\0');
  const bad = text.indexOf('\uFFFD');
  const at = nul >= 0 && (bad < 0 || nul < bad) ? nul : bad;
  if (at < 0) return undefined;
  return { file, ...textPos(text, at), field: '', message: `not a text file: ${nul === at ? 'a NUL byte' : 'bytes that are not UTF-8'} at offset ${at} (a YAML file was expected)` };
}

/**
 * How deep collections may nest. No file the project reads comes near it; the yaml package builds documents
 * recursively, and a file nested some thousand levels deep overflows the stack. It reports that as a syntax error,
 * but V8 may be left with a regular expression that was being compiled when the stack ran out: the next parse in the
 * same process then dies with "FATAL ERROR: RegExpCompiler Allocation failed" (found by the fuzz tests).
 */
export const MAX_YAML_DEPTH = 100;

/**
 * The offset where YAML text first nests collections deeper than `max`, or undefined. Read from the text alone, in
 * one pass without recursion (the yaml package's own parser recurses too, on a deep dedent): the depth of a line is
 * its open indentation levels, plus the `- ` and `? ` that open collections at its start, plus the flow brackets open
 * at that point. That counts at least what the parser would nest, never much more (brackets inside quotes count too).
 */
export function yamlDepthOffset(text: string, max = MAX_YAML_DEPTH): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let end = text.indexOf('\n', lineStart);
    if (end < 0) end = text.length;
    let i = lineStart;
    while (i < end && text[i] === ' ') i++;
    if (i < end && text[i] !== '#' && text[i] !== '\r') {
      if (flow === 0) {
        const indent = i - lineStart;
        while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
        indents.push(indent);
      }
      // the first indentation level is the document's own
      let depth = indents.length - 1 + flow;
      if (depth > max) return i;
      while (i + 1 < end && (text[i] === '-' || text[i] === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
        if (++depth > max) return i;
        i += 2;
        while (i < end && (text[i] === ' ' || text[i] === '\t')) i++;
      }
      for (; i < end; i++) {
        const c = text[i];
        if (c === '[' || c === '{') {
          flow++;
          if (++depth > max) return i;
        } else if ((c === ']' || c === '}') && flow > 0) {
          flow--;
          depth--;
        }
      }
    }
    lineStart = end + 1;
  }
  return undefined;
}

/**
 * The one issue of a file that cannot be parsed safely: not text (notTextIssue), or collections nested deeper than
 * MAX_YAML_DEPTH. Every loader asks this before it parses.
 */
export function unparsableIssue(file: string, text: string): YamlIssue | undefined {
  const notText = notTextIssue(file, text);
  if (notText) return notText;
  const at = yamlDepthOffset(text);
  if (at === undefined) return undefined;
  return { file, ...textPos(text, at), field: '', message: `YAML: collections nested more than ${MAX_YAML_DEPTH} levels deep` };
}

/** one YAML document with positions; duplicate keys are syntax errors */
export function parseYamlDocument(text: string): { doc: Document.Parsed; lc: LineCounter } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  return { doc, lc };
}

/** how many times aliases may be expanded in one document (the yaml package's guard against "billion laughs") */
export const MAX_ALIAS_COUNT = 100;

/**
 * A document's plain value, or the issue of why there is none: the yaml package throws while building it for an
 * alias bomb ("Excessive alias count…") and for an alias before its anchor. Reported at the document's start.
 */
export function documentValue(doc: Document, file: string, lc: LineCounter, prefix = 'YAML: '): { value: unknown } | { issue: YamlIssue } {
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown };
  } catch (e) {
    const at = nodePos(lc, deref(doc, doc.contents));
    return { issue: { file, ...(at.line > 0 ? at : { line: 1, column: 1 }), field: '', message: `${prefix}${(e as Error).message.split('\n')[0]}` } };
  }
}

/** the node an alias points at (aliases of aliases too), or the node itself */
export function deref(doc: Document, node: unknown): YamlNode | null {
  let n = node;
  for (let i = 0; i < 16 && isAlias(n); i++) n = n.resolve(doc);
  return (n as YamlNode | null | undefined) ?? null;
}

/** what a node is, for "expected X, got Y" */
export function describeNode(node: YamlNode | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `string ${quoteShort(v)}`;
    if (typeof v === 'number') return `number ${v}`;
    if (typeof v === 'boolean') return `boolean ${v}`;
    return typeof v;
  }
  return 'an unsupported value';
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** ` (did you mean "x"?)` for the closest known word within edit distance 2 (or a case-only difference), else '' */
export function suggestion(word: string, known: readonly string[]): string {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const dist = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}
