// The single-file HTML report: the viewer's JS and CSS inlined, the run embedded as gzip + base64 in a <template>.
// A Content-Security-Policy forbids every fetch, so the page provably works from file:// with no network.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serializeRunResult } from './json.ts';
import type { Reporter } from './reporter.ts';
import { runTotals, type RunResult } from './types.ts';
import { VIEWER_CSS, VIEWER_JS } from './viewer/bundle.generated.ts';

export const HTML_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; connect-src 'none'; base-uri 'none'; form-action 'none'";

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** inline code cannot close its own element early */
function inlineSafe(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1').replace(/<!--/g, '<\\!--');
}

export interface HtmlOptions {
  /** gzip the embedded data (default true; the viewer decompresses it with DecompressionStream) */
  compress?: boolean;
}

export function renderHtml(run: RunResult, options: HtmlOptions = {}): string {
  const json = serializeRunResult(run, { indent: 0 });
  const compress = options.compress ?? true;
  const data = compress ? gzipSync(json, { level: 9 }).toString('base64') : Buffer.from(json).toString('base64');
  const t = runTotals(run);
  const title = `${t.status === 'passed' ? '✓' : '✗'} sriov-lab report — ${t.failed} failed, ${t.passed} passed, ${t.skipped} skipped`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="sriov-lab">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${inlineSafe(VIEWER_CSS, 'style')}</style>`,
    '</head>',
    '<body>',
    // shown until the viewer replaces it: a reader with scripts off still learns what this is
    `<div id="app"><noscript>This sriov-lab report needs JavaScript. ${escapeHtml(`${t.total} scenarios: ${t.failed} failed, ${t.passed} passed, ${t.skipped} skipped.`)}</noscript></div>`,
    `<template id="run-data" data-encoding="${compress ? 'gzip+base64' : 'base64'}">${data}</template>`,
    `<script>${inlineSafe(VIEWER_JS, 'script')}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function htmlReporter(options: { outputFile: string } & HtmlOptions): Reporter {
  return {
    name: 'html',
    async onRunEnd(run) {
      await mkdir(dirname(options.outputFile), { recursive: true });
      await writeFile(options.outputFile, renderHtml(run, options));
    },
  };
}
