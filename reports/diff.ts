// A small unified line diff for failure messages (expected → actual). Scenario values are short (a partial object
// rendered as YAML), so a plain LCS table is enough; very long inputs fall back to a whole-block replacement.

const MAX_CELLS = 4_000_000;

export interface DiffOptions {
  /** unchanged lines kept around each change (default 3) */
  context?: number;
  expectedLabel?: string;
  actualLabel?: string;
}

type Edit = { op: ' ' | '-' | '+'; line: string; a: number; b: number };

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function edits(a: string[], b: string[]): Edit[] {
  // trim the common head and tail first: most failures differ in a line or two
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out: Edit[] = [];
  for (let i = 0; i < head; i++) out.push({ op: ' ', line: a[i], a: i, b: i });
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const n = am.length;
  const m = bm.length;
  if (n * m > MAX_CELLS) {
    am.forEach((line, i) => out.push({ op: '-', line, a: head + i, b: head }));
    bm.forEach((line, j) => out.push({ op: '+', line, a: head + n, b: head + j }));
  } else {
    // lcs[i][j] = length of the LCS of am[i..] and bm[j..]
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] = am[i] === bm[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ op: ' ', line: am[i], a: head + i, b: head + j });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        // deletions before insertions, as diff(1) prints them
        out.push({ op: '-', line: am[i], a: head + i, b: head + j });
        i++;
      } else {
        out.push({ op: '+', line: bm[j], a: head + i, b: head + j });
        j++;
      }
    }
  }
  for (let k = tail; k > 0; k--) {
    out.push({ op: ' ', line: a[a.length - k], a: a.length - k, b: b.length - k });
  }
  return out;
}

/** "" when both are equal */
export function unifiedDiff(expected: string, actual: string, options: DiffOptions = {}): string {
  const context = options.context ?? 3;
  const a = splitLines(expected);
  const b = splitLines(actual);
  const es = edits(a, b);
  if (es.every((e) => e.op === ' ')) return '';
  const lines = [`--- ${options.expectedLabel ?? 'expected'}`, `+++ ${options.actualLabel ?? 'actual'}`];
  let k = 0;
  while (k < es.length) {
    if (es[k].op === ' ') {
      k++;
      continue;
    }
    // one hunk: from `context` lines before this change to `context` lines after the last change that is within
    // 2*context unchanged lines of the previous one
    const start = Math.max(0, k - context);
    let end = k;
    let lastChange = k;
    while (end < es.length) {
      if (es[end].op !== ' ') lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    end = Math.min(es.length, lastChange + context + 1);
    const hunk = es.slice(start, end);
    const aCount = hunk.filter((e) => e.op !== '+').length;
    const bCount = hunk.filter((e) => e.op !== '-').length;
    const aStart = aCount === 0 ? hunk[0].a : hunk[0].a + 1;
    const bStart = bCount === 0 ? hunk[0].b : hunk[0].b + 1;
    lines.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const e of hunk) lines.push(`${e.op}${e.line}`);
    k = end;
  }
  return `${lines.join('\n')}\n`;
}

/** the error's own diff, else one computed from expected/actual, else "" */
export function diffOf(error: { diff?: string; expected?: string; actual?: string }): string {
  if (error.diff) return error.diff;
  if (error.expected !== undefined && error.actual !== undefined) return unifiedDiff(error.expected, error.actual);
  return '';
}
