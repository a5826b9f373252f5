// The single-file HTML report's viewer. Bundled by reports/build-viewer.ts into reports/viewer/bundle.generated.ts
// and inlined into each report. It reads the RunResult from <template id="run-data"> (gzip + base64), renders the
// summary and the scenario list at once, and a scenario's details only when it is expanded.
import { diffOf } from '../diff.ts';
import { nodeListText } from '../node-list.ts';
import {
  failuresFirst,
  firstError,
  runTotals,
  type Attachment,
  type CniEvent,
  type GrpcEvent,
  type JsonValue,
  type ResultError,
  type RunResult,
  type ScenarioResult,
  type Status,
  type TraceEvent,
} from '../types.ts';
import { integerTicks, isTimelineEvent, niceTicks, resourceCharts, SERIES, stepPoints, TIMELINE_KINDS, timelineEndMs, type Box } from './chart.ts';
import { browser, h, s, type DomDetails, type DomElement, type DomInput, type DomTemplate } from './dom.ts';
import { allResources, allTags, formatHash, matches, parseHash, type ViewState } from './state.ts';

const win = browser();
const doc = win.document;
win.performance.mark('report:script-start');

/** rows shown per table before a "show more" button */
const PAGE_ROWS = 300;

const SYMBOL: Record<Status, string> = { passed: '✓', failed: '✗', skipped: '–' };

function ms(v: number): string {
  if (v < 1000) return `${Math.round(v * 10) / 10}ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(2)}s`;
  const m = Math.floor(v / 60_000);
  return `${m}m${Math.round((v - m * 60_000) / 1000)}s`;
}

function pretty(v: JsonValue | undefined): string {
  return v === undefined ? '' : JSON.stringify(v, null, 2);
}

/** stdin/stdout of a CNI call: JSON pretty-printed when it is JSON */
function prettyText(text: string): string {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

async function decodeData(): Promise<RunResult> {
  const tpl = doc.getElementById('run-data') as DomTemplate | null;
  if (!tpl) throw new Error('this report has no embedded run data (<template id="run-data"> is missing)');
  const b64 = (tpl.content.textContent ?? '').replace(/\s+/g, '');
  const bin = win.atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const encoding = tpl.getAttribute('data-encoding') ?? 'base64';
  let text: string;
  if (encoding === 'gzip+base64') {
    if (!win.DecompressionStream) throw new Error('this browser has no DecompressionStream (needs Chromium 80+, Firefox 113+, Safari 16.4+)');
    const stream = (new win.Blob([bytes]).stream() as { pipeThrough(t: unknown): unknown }).pipeThrough(new win.DecompressionStream('gzip'));
    text = await new win.Response(stream).text();
  } else {
    text = new TextDecoder().decode(bytes);
  }
  return JSON.parse(text) as RunResult;
}

// ---------------------------------------------------------------------------------------------------------------

let run: RunResult;
let ordered: ScenarioResult[];
let state: ViewState;
const cards = new Map<string, DomElement>();

function setState(next: ViewState, opts: { render?: boolean } = {}): void {
  state = next;
  const hash = formatHash(state);
  // replaceState: filtering is not navigation, and the hash survives a reload
  win.history.replaceState(null, '', hash || '#');
  if (opts.render !== false) applyFilters();
}

function copyButton(text: string, target: () => DomElement): DomElement {
  const btn = h('button', { class: 'copy', type: 'button', title: 'copy to clipboard' }, 'copy');
  btn.addEventListener('click', (ev) => {
    ev.stopPropagation();
    const done = (): void => {
      btn.textContent = 'copied';
    };
    const fallback = (): void => {
      // file:// pages may not get the async clipboard: select the text so ctrl-c works
      win.getSelection()?.selectAllChildren(target());
      try {
        if (doc.execCommand('copy')) done();
      } catch {
        /* selection is left for the user */
      }
    };
    const clip = win.navigator.clipboard;
    if (clip) clip.writeText(text).then(done, fallback);
    else fallback();
  });
  return btn;
}

function codeBlock(text: string, cls: string): DomElement {
  const pre = h('pre', { class: cls }, text);
  return h('div', { class: 'code-wrap' }, pre, copyButton(text, () => pre));
}

function renderHeader(): DomElement {
  const t = runTotals(run);
  const m = run.run;
  const counter = (status: ViewState['status'], label: string, n: number): DomElement =>
    h(
      'button',
      {
        class: `counter counter-${status}`,
        type: 'button',
        'data-status': status,
        onclick: () => setState({ ...state, status: state.status === status ? 'all' : status }),
      },
      h('span', { class: 'count' }, String(n)),
      h('span', { class: 'label' }, label),
    );
  const meta: Array<[string, string | DomElement]> = [
    ['backend', `${m.backend}${m.backendDetail ? ` — ${m.backendDetail}` : ''}`],
    ['seed', String(m.seed)],
    ['started', m.startedAt],
    ['host', `${m.host.hostname} · ${m.host.os} · ${m.host.arch}${m.host.cpus ? ` · ${m.host.cpus} CPUs` : ''}`],
    ['kernel', `${m.kernel.release}${m.kernel.version ? ` ${m.kernel.version}` : ''}`],
    [
      'NICs',
      [...new Set(m.nics.map((n) => `${n.model} (${n.vendorDevice}${n.driver ? `, ${n.driver}` : ''}${n.simulated ? ', simulated' : ''})`))].join('; ') || '—',
    ],
    [
      'plugins',
      h(
        'ul',
        { class: 'plugins' },
        ...m.plugins.map((p) =>
          h(
            'li',
            {},
            h('b', {}, p.name),
            ` ${p.role}${p.version ? ` ${p.version}` : ''}${p.bundled ? ' (bundled)' : ' (third-party)'}`,
            p.sha256 ? h('code', { class: 'sha', title: p.sha256 }, ` sha256:${p.sha256.slice(0, 16)}…`) : null,
          ),
        ),
      ),
    ],
    ['command', m.command],
  ];
  if (m.ci) meta.push(['CI', `${m.ci.provider}${m.ci.ref ? ` ${m.ci.ref}` : ''}${m.ci.commit ? ` @ ${m.ci.commit}` : ''}${m.ci.url ? ` ${m.ci.url}` : ''}`]);
  return h(
    'header',
    { class: 'summary' },
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, 'sriov-lab report'),
      h('span', { class: `badge badge-${t.status}`, id: 'run-status' }, t.status === 'passed' ? 'passed' : 'failed'),
      m.interrupted ? h('span', { class: 'badge badge-failed' }, 'interrupted') : null,
      h('span', { class: 'duration', id: 'run-duration' }, ms(m.durationMs)),
    ),
    h(
      'div',
      { class: 'counters' },
      counter('all', 'scenarios', t.total),
      counter('failed', 'failed', t.failed),
      counter('passed', 'passed', t.passed),
      counter('skipped', 'skipped', t.skipped),
    ),
    h('dl', { class: 'meta' }, ...meta.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('div', { class: 'run-reproduce' }, h('span', { class: 'label' }, 'reproduce the run'), codeBlock(m.reproduceCommand, 'reproduce')),
  );
}

function renderFilters(): DomElement {
  const text = h('input', { id: 'filter-text', type: 'search', placeholder: 'filter by name or file', value: state.q }) as DomInput;
  text.value = state.q;
  text.addEventListener('input', () => setState({ ...state, q: text.value }));
  const select = (id: string, label: string, values: string[], current: string, set: (v: string) => ViewState): DomElement => {
    const sel = h(
      'select',
      { id, 'aria-label': label },
      h('option', { value: '' }, `any ${label}`),
      ...values.map((v) => h('option', { value: v, selected: v === current }, v)),
    ) as DomInput;
    sel.value = current;
    sel.addEventListener('change', () => setState(set(sel.value)));
    return sel;
  };
  return h(
    'div',
    { class: 'filters' },
    text,
    select('filter-tag', 'tag', allTags(run.scenarios), state.tag, (v) => ({ ...state, tag: v })),
    select('filter-resource', 'resource', allResources(run.scenarios), state.resource, (v) => ({ ...state, resource: v })),
    h('span', { id: 'shown-count', class: 'shown' }),
  );
}

function renderCard(sc: ScenarioResult): DomElement {
  const head = h(
    'button',
    { class: 'scenario-head', type: 'button', 'aria-expanded': 'false' },
    h('span', { class: `status status-${sc.status}`, title: sc.status }, SYMBOL[sc.status]),
    h('span', { class: 'name' }, sc.name),
    h('span', { class: 'file' }, `${sc.file}${sc.location ? `:${sc.location.line}` : ''}`),
    h('span', { class: 'tags' }, ...sc.tags.map((t) => h('span', { class: 'tag' }, t))),
    h('span', { class: 'duration' }, sc.status === 'skipped' ? 'skipped' : ms(sc.durationMs)),
  );
  const body = h('div', { class: 'scenario-body' });
  body.hidden = true;
  const card = h('section', { class: `scenario scenario-${sc.status}`, 'data-id': sc.id, 'data-status': sc.status }, head, body);
  head.addEventListener('click', () => {
    const open = state.open.includes(sc.id);
    setState({ ...state, open: open ? state.open.filter((x) => x !== sc.id) : [...state.open, sc.id] }, { render: false });
    syncOpen(card, sc, !open);
  });
  return card;
}

function syncOpen(card: DomElement, sc: ScenarioResult, open: boolean): void {
  const body = card.querySelector('.scenario-body');
  const head = card.querySelector('.scenario-head');
  if (!body || !head) return;
  if (open && !body.dataset.rendered) {
    body.replaceChildren(...renderDetails(sc));
    body.dataset.rendered = '1';
  }
  body.hidden = !open;
  card.classList.toggle('open', open);
  head.setAttribute('aria-expanded', String(open));
}

function applyFilters(): void {
  let shown = 0;
  for (const sc of ordered) {
    const card = cards.get(sc.id);
    if (!card) continue;
    const ok = matches(sc, state);
    card.hidden = !ok;
    if (ok) shown++;
    syncOpen(card, sc, state.open.includes(sc.id));
  }
  const counter = doc.getElementById('shown-count');
  if (counter) counter.textContent = `${shown} of ${ordered.length} shown`;
  for (const b of Array.from(doc.body.querySelectorAll('.counter'))) {
    b.classList.toggle('active', b.dataset.status === state.status);
  }
  const empty = doc.getElementById('empty');
  if (empty) empty.hidden = shown > 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario details

function section(title: string, cls: string, content: DomElement | DomElement[], open = true): DomElement {
  const d = h('details', { class: `section ${cls}` }, h('summary', {}, title), ...(Array.isArray(content) ? content : [content])) as DomDetails;
  d.open = open;
  return d;
}

function renderError(err: ResultError, where: string): DomElement {
  const diff = diffOf(err);
  const loc = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}` : '';
  return h(
    'div',
    { class: 'error' },
    h('div', { class: 'error-where' }, where),
    h('div', { class: 'error-message' }, h('b', {}, `${err.name}: `), err.message),
    loc ? h('div', { class: 'error-location' }, `at ${loc}`) : null,
    diff
      ? h(
          'pre',
          { class: 'diff' },
          ...diff
            .trimEnd()
            .split('\n')
            .map((line) => {
              const cls = line.startsWith('+++') || line.startsWith('---') ? 'd-file' : line.startsWith('@@') ? 'd-hunk' : line.startsWith('+') ? 'd-add' : line.startsWith('-') ? 'd-del' : 'd-ctx';
              return h('span', { class: `diff-line ${cls}` }, `${line}\n`);
            }),
        )
      : null,
    !diff && err.expected !== undefined ? h('div', {}, h('div', { class: 'label' }, 'expected'), h('pre', { class: 'expected' }, err.expected)) : null,
    !diff && err.actual !== undefined ? h('div', {}, h('div', { class: 'label' }, 'actual'), h('pre', { class: 'actual' }, err.actual)) : null,
    err.fields ? h('pre', { class: 'fields' }, pretty(err.fields)) : null,
    err.stack ? h('details', { class: 'stack' }, h('summary', {}, 'stack'), h('pre', {}, err.stack)) : null,
  );
}

function renderSteps(sc: ScenarioResult): DomElement {
  const total = Math.max(sc.durationMs, 1);
  const bar = (startMs: number, durationMs: number): DomElement =>
    h(
      'span',
      { class: 'bar' },
      h('span', {
        class: 'bar-fill',
        style: `left:${((startMs / total) * 100).toFixed(2)}%;width:${Math.max(0.5, (durationMs / total) * 100).toFixed(2)}%`,
      }),
    );
  return h(
    'ol',
    { class: 'steps' },
    ...sc.steps.map((st) =>
      h(
        'li',
        { class: `step step-${st.status}` },
        h(
          'div',
          { class: 'step-row' },
          h('span', { class: `status status-${st.status}` }, SYMBOL[st.status]),
          h('span', { class: 'step-name' }, st.name),
          st.location ? h('span', { class: 'file' }, `:${st.location.line}`) : null,
          bar(st.startMs, st.durationMs),
          h('span', { class: 'duration' }, ms(st.durationMs)),
        ),
        st.error ? renderError(st.error, 'step error') : null,
        h(
          'ul',
          { class: 'ops' },
          ...st.operations.map((op) =>
            h(
              'li',
              { class: `op op-${op.status}` },
              h(
                'div',
                { class: 'op-row' },
                h('span', { class: `status status-${op.status}` }, SYMBOL[op.status]),
                op.phase && op.phase !== 'try' ? h('span', { class: `phase phase-${op.phase}` }, op.phase) : null,
                h('span', { class: 'op-kind' }, op.kind),
                h('span', { class: 'op-title' }, op.title),
                bar(op.startMs, op.durationMs),
                h('span', { class: 'duration' }, ms(op.durationMs)),
              ),
              op.error && op.status === 'failed' ? h('div', { class: 'op-error' }, `${op.error.name}: ${op.error.message}`) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function eventSummary(e: TraceEvent): string {
  switch (e.kind) {
    case 'grpc':
      return `${e.method}${e.stream ? ` (stream ${e.stream})` : ''}${e.status ? ` → ${e.status.name}: ${e.status.details}` : ''}`;
    case 'sysfs':
      return `${e.op} ${e.path}${e.value !== undefined ? ` = ${JSON.stringify(e.value)}` : ''}${e.errno ? ` → ${e.errno}` : ''}${e.actor ? ` (${e.actor})` : ''}`;
    case 'cni':
      return `${e.command} ${e.pod ?? ''} → exit ${e.exitCode} (${ms(e.durationMs)})`;
    case 'scheduler':
      return `${e.pod} ${e.result}${e.nodeName ? ` to ${e.nodeName}` : ''}${e.message ? `: ${e.message}` : ''}`;
    case 'pod':
      return `${e.pod} ${e.from ?? '∅'} → ${e.to}${e.reason ? ` (${e.reason})` : ''}${e.message ? `: ${e.message}` : ''}`;
    case 'fault':
      return `${e.action} ${e.fault}${e.target ? ` on ${e.target}` : ''}${e.detail ? ` (${e.detail})` : ''}`;
    case 'resource':
      return `${e.node} ${e.resource}: capacity ${e.capacity}, allocatable ${e.allocatable}, allocated ${e.allocated}`;
    case 'log':
      return `${e.source} ${e.level}: ${e.message}`;
    default:
      return (e as { kind: string }).kind;
  }
}

function isBad(e: TraceEvent): boolean {
  return (
    (e.kind === 'grpc' && e.status !== undefined) ||
    (e.kind === 'sysfs' && e.errno !== undefined) ||
    (e.kind === 'cni' && e.exitCode !== 0) ||
    (e.kind === 'scheduler' && e.result === 'unschedulable') ||
    (e.kind === 'pod' && e.to === 'Failed') ||
    (e.kind === 'log' && e.level === 'error')
  );
}

function renderTimeline(sc: ScenarioResult): DomElement {
  const events = sc.trace.filter(isTimelineEvent);
  const endMs = timelineEndMs(events, sc.durationMs);
  const laneH = 22;
  const left = 80;
  const right = 12;
  const width = 1000;
  const top = 6;
  const height = top + TIMELINE_KINDS.length * laneH + 24;
  const x = (t: number): number => left + (t / endMs) * (width - left - right);
  const detail = h('pre', { class: 'tl-detail' }, 'click an event for its details');
  const svg = s('svg', { class: 'timeline', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `timeline of ${events.length} events` });
  // step bands behind the lanes
  sc.steps.forEach((st, i) => {
    svg.append(
      s(
        'rect',
        { class: `tl-step tl-step-${i % 2} tl-step-${st.status}`, x: x(st.startMs).toFixed(1), y: top, width: Math.max(1, x(st.startMs + st.durationMs) - x(st.startMs)).toFixed(1), height: TIMELINE_KINDS.length * laneH },
        s('title', {}, `${st.name} (${ms(st.durationMs)})`),
      ),
    );
  });
  TIMELINE_KINDS.forEach((k, i) => {
    const y = top + i * laneH;
    svg.append(s('text', { class: 'tl-lane-label', x: 4, y: y + laneH / 2 + 4 }, k));
    svg.append(s('line', { class: 'tl-lane', x1: left, x2: width - right, y1: y + laneH, y2: y + laneH }));
  });
  for (const t of niceTicks(endMs, 8)) {
    svg.append(s('line', { class: 'tl-tick', x1: x(t).toFixed(1), x2: x(t).toFixed(1), y1: top, y2: height - 18 }));
    svg.append(s('text', { class: 'tl-tick-label', x: x(t).toFixed(1), y: height - 4, 'text-anchor': 'middle' }, ms(t)));
  }
  const lane = new Map(TIMELINE_KINDS.map((k, i) => [k, i]));
  events.forEach((e) => {
    const i = lane.get(e.kind) ?? 0;
    const d = 'durationMs' in e && typeof e.durationMs === 'number' ? e.durationMs : 0;
    const w = Math.max(3, x(e.atMs + d) - x(e.atMs));
    const mark = s(
      'rect',
      { class: `tl-event tl-${e.kind}${isBad(e) ? ' tl-bad' : ''}`, x: x(e.atMs).toFixed(1), y: top + i * laneH + 4, width: w.toFixed(1), height: laneH - 8, rx: 1 },
      s('title', {}, `${ms(e.atMs)}${e.node ? ` ${e.node}` : ''} ${e.kind}: ${eventSummary(e)}`),
    );
    mark.addEventListener('click', () => {
      detail.textContent = `${ms(e.atMs)} ${e.node ?? ''}\n${JSON.stringify(e, null, 2)}`;
    });
    svg.append(mark);
  });
  const counts = TIMELINE_KINDS.map((k) => `${k} ${events.filter((e) => e.kind === k).length}`).join(' · ');
  return h('div', { class: 'timeline-wrap' }, h('div', { class: 'legend' }, `${events.length} events: ${counts}`), svg, detail);
}

function renderCharts(sc: ScenarioResult): DomElement {
  const charts = resourceCharts(sc.trace, sc.durationMs);
  if (charts.length === 0) return h('p', { class: 'none' }, 'no resource samples in this scenario');
  const box: Box = { width: 460, height: 180, left: 36, right: 10, top: 10, bottom: 24 };
  return h(
    'div',
    { class: 'charts' },
    ...charts.map((c) => {
      const svg = s('svg', { class: 'chart-svg', viewBox: `0 0 ${box.width} ${box.height}`, role: 'img', 'aria-label': `${c.node} ${c.resource}` });
      const plotH = box.height - box.top - box.bottom;
      for (const t of integerTicks(c.maxY)) {
        const y = box.top + plotH - (t / c.maxY) * plotH;
        svg.append(s('line', { class: 'grid', x1: box.left, x2: box.width - box.right, y1: y.toFixed(1), y2: y.toFixed(1) }));
        svg.append(s('text', { class: 'axis-label', x: box.left - 4, y: (y + 3).toFixed(1), 'text-anchor': 'end' }, String(t)));
      }
      for (const t of niceTicks(c.endMs, 4)) {
        const x = box.left + (t / c.endMs) * (box.width - box.left - box.right);
        svg.append(s('text', { class: 'axis-label', x: x.toFixed(1), y: box.height - 6, 'text-anchor': 'middle' }, ms(t)));
      }
      for (const name of SERIES) {
        svg.append(s('polyline', { class: `series series-${name}`, points: stepPoints(c, name, box), fill: 'none' }, s('title', {}, name)));
      }
      const last = c.samples[c.samples.length - 1];
      return h(
        'figure',
        { class: 'chart', 'data-node': c.node, 'data-resource': c.resource },
        h('figcaption', {}, h('b', {}, c.node), ` ${c.resource}`, h('span', { class: 'now' }, ` now ${last.allocated}/${last.allocatable}/${last.capacity} (allocated/allocatable/capacity)`)),
        svg,
        h('div', { class: 'chart-legend' }, ...SERIES.map((n) => h('span', { class: `key key-${n}` }, n))),
      );
    }),
  );
}

/** a table that shows PAGE_ROWS rows and a button for the rest */
function pagedTable(headers: string[], rows: Array<() => DomElement>, cls: string): DomElement {
  const tbody = h('tbody');
  const table = h('table', { class: cls }, h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))), tbody);
  const wrap = h('div', { class: 'table-wrap' }, table);
  let shown = 0;
  const more = h('button', { class: 'more', type: 'button' });
  const page = (): void => {
    const end = Math.min(rows.length, shown + PAGE_ROWS);
    for (let i = shown; i < end; i++) tbody.append(rows[i]());
    shown = end;
    more.textContent = `show ${Math.min(PAGE_ROWS, rows.length - shown)} more of ${rows.length - shown}`;
    more.hidden = shown >= rows.length;
  };
  more.addEventListener('click', page);
  page();
  wrap.append(more);
  return wrap;
}

function renderGrpc(events: GrpcEvent[]): DomElement {
  return pagedTable(
    ['at', 'node', 'call', 'method', 'status', 'messages'],
    events.map((e) => () =>
      h(
        'tr',
        { class: `grpc-row${e.status ? ' bad' : ''}` },
        h('td', { class: 'num' }, ms(e.atMs)),
        h('td', {}, e.node ?? ''),
        h('td', { class: 'dir' }, e.direction === 'to-plugin' ? 'kubelet → plugin' : '→ kubelet'),
        h('td', {}, h('code', {}, e.method), e.stream ? h('span', { class: 'stream' }, ` stream ${e.stream}`) : null),
        h('td', {}, e.status ? `${e.status.name} (${e.status.code}): ${e.status.details}` : 'OK', e.durationMs !== undefined ? ` · ${ms(e.durationMs)}` : ''),
        h(
          'td',
          { class: 'msgs' },
          e.request !== undefined ? h('details', {}, h('summary', {}, 'request'), h('pre', { class: 'json' }, pretty(e.request))) : null,
          e.response !== undefined ? h('details', {}, h('summary', {}, 'response'), h('pre', { class: 'json' }, pretty(e.response))) : null,
        ),
      ),
    ),
    'grpc',
  );
}

function renderCni(events: CniEvent[]): DomElement {
  return h(
    'div',
    { class: 'cni-calls' },
    ...events.map((e) =>
      h(
        'details',
        { class: `cni-call${e.exitCode !== 0 ? ' bad' : ''}` },
        h('summary', {}, `${ms(e.atMs)} ${e.node ?? ''} ${e.command} ${e.pod ?? ''} — ${e.plugin} → exit ${e.exitCode} in ${ms(e.durationMs)}`),
        h('table', { class: 'env' }, ...Object.entries(e.env).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
        h('div', { class: 'label' }, 'stdin'),
        h('pre', { class: 'cni-stdin' }, prettyText(e.stdin)),
        h('div', { class: 'label' }, 'stdout'),
        h('pre', { class: 'cni-stdout' }, prettyText(e.stdout) || '(empty)'),
        e.stderr ? h('div', { class: 'label' }, 'stderr') : null,
        e.stderr ? h('pre', { class: 'cni-stderr' }, e.stderr) : null,
      ),
    ),
  );
}

function renderEvents(events: TraceEvent[], cls: string): DomElement {
  return pagedTable(
    ['at', 'node', 'kind', 'event'],
    events.map((e) => () =>
      h('tr', { class: `ev-row${isBad(e) ? ' bad' : ''}` }, h('td', { class: 'num' }, ms(e.atMs)), h('td', {}, e.node ?? ''), h('td', {}, e.kind), h('td', { class: 'ev-text' }, eventSummary(e))),
    ),
    cls,
  );
}

function attachmentView(a: Attachment): DomElement {
  if (a.encoding === 'text') return h('pre', { class: 'attachment-body' }, a.body);
  const bin = win.atob(a.body);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  if (a.contentType.startsWith('image/')) return h('img', { class: 'attachment-img', alt: a.name, src: `data:${a.contentType};base64,${a.body}` });
  const link = h('a', { download: a.name, href: win.URL.createObjectURL(new win.Blob([bytes], { type: a.contentType })) }, `download (${bytes.length} bytes)`);
  const textual = /^(text\/|application\/(json|xml|yaml|x-yaml))/.test(a.contentType);
  return h('div', {}, link, textual ? h('pre', { class: 'attachment-body' }, prettyText(new TextDecoder().decode(bytes))) : null);
}

function renderAttachments(list: Attachment[]): DomElement {
  return h(
    'div',
    { class: 'attachments' },
    ...list.map((a) => {
      const d = h('details', { class: 'attachment' }, h('summary', {}, `${a.name} (${a.contentType}${a.step ? `, step ${a.step}` : ''})`)) as DomDetails;
      let rendered = false;
      d.addEventListener('toggle', () => {
        if (d.open && !rendered) {
          rendered = true;
          d.append(attachmentView(a));
        }
      });
      return d;
    }),
  );
}

function renderDetails(unsorted: ScenarioResult): DomElement[] {
  // the contract asks for time order; a stable sort makes a slightly out-of-order trace read right anyway
  const sc: ScenarioResult = { ...unsorted, trace: unsorted.trace.map((e, i) => ({ e, i })).sort((a, b) => a.e.atMs - b.e.atMs || a.i - b.i).map((x) => x.e) };
  const out: DomElement[] = [];
  if (sc.description) out.push(h('p', { class: 'description' }, sc.description));
  if (sc.status === 'skipped') out.push(h('div', { class: 'skip-reason' }, h('b', {}, 'skipped: '), sc.skipReason ?? 'no reason given'));
  if (sc.status === 'failed') {
    const found = firstError(sc);
    if (found) {
      const where = found.step ? `step “${found.step.name}”${found.operation ? ` › ${found.operation.title}` : ''}` : 'scenario';
      out.push(renderError(found.error, where));
    }
  }
  out.push(h('div', { class: 'scenario-reproduce' }, h('span', { class: 'label' }, 'reproduce'), codeBlock(sc.reproduceCommand, 'reproduce')));
  const meta = [sc.resources.length ? `resources: ${sc.resources.join(', ')}` : '', sc.nodes?.length ? `nodes: ${nodeListText(sc)}` : '', sc.startedAt ? `started ${sc.startedAt}` : '']
    .filter(Boolean)
    .join(' · ');
  if (meta) out.push(h('div', { class: 'scenario-meta' }, meta));
  if (sc.steps.length > 0) out.push(section(`Steps (${sc.steps.length})`, 'sec-steps', renderSteps(sc)));
  const timeline = sc.trace.filter(isTimelineEvent);
  if (timeline.length > 0) out.push(section(`Timeline (${timeline.length} events)`, 'sec-timeline', renderTimeline(sc)));
  if (sc.trace.some((e) => e.kind === 'resource')) out.push(section('Resources per node', 'sec-resources', renderCharts(sc)));
  const grpc = sc.trace.filter((e): e is GrpcEvent => e.kind === 'grpc');
  if (grpc.length > 0) out.push(section(`gRPC transcript (${grpc.length})`, 'sec-grpc', renderGrpc(grpc)));
  const cni = sc.trace.filter((e): e is CniEvent => e.kind === 'cni');
  if (cni.length > 0) out.push(section(`CNI calls (${cni.length})`, 'sec-cni', renderCni(cni)));
  const sysfs = sc.trace.filter((e) => e.kind === 'sysfs');
  if (sysfs.length > 0) out.push(section(`sysfs (${sysfs.length})`, 'sec-sysfs', renderEvents(sysfs, 'sysfs'), false));
  const other = sc.trace.filter((e) => e.kind === 'scheduler' || e.kind === 'pod' || e.kind === 'fault' || e.kind === 'log');
  if (other.length > 0) out.push(section(`Scheduler, pods, faults, logs (${other.length})`, 'sec-events', renderEvents(other, 'events'), false));
  if (sc.attachments.length > 0) out.push(section(`Attachments (${sc.attachments.length})`, 'sec-attachments', renderAttachments(sc.attachments)));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

function renderApp(): void {
  const app = doc.getElementById('app');
  if (!app) throw new Error('no #app element');
  ordered = failuresFirst(run.scenarios);
  const list = h('main', { class: 'scenarios' });
  for (const sc of ordered) {
    const card = renderCard(sc);
    cards.set(sc.id, card);
    list.append(card);
  }
  const empty = h('p', { id: 'empty', class: 'none' }, 'no scenario matches the filters');
  app.replaceChildren(renderHeader(), renderFilters(), list, empty);
  doc.title = `${runTotals(run).failed > 0 ? '✗' : '✓'} sriov-lab report — ${run.run.startedAt}`;
  applyFilters();
}

async function start(): Promise<void> {
  try {
    run = await decodeData();
    win.performance.mark('report:data-decoded');
    state = parseHash(win.location.hash);
    renderApp();
    win.performance.mark('report:first-render');
    doc.documentElement.dataset.state = 'ready';
    win.addEventListener('hashchange', () => {
      state = parseHash(win.location.hash);
      const set = (id: string, v: string): void => {
        const el = doc.getElementById(id) as DomInput | null;
        if (el) el.value = v;
      };
      set('filter-text', state.q);
      set('filter-tag', state.tag);
      set('filter-resource', state.resource);
      applyFilters();
    });
  } catch (e) {
    doc.documentElement.dataset.state = 'error';
    const app = doc.getElementById('app');
    app?.replaceChildren(h('div', { class: 'fatal' }, `This report could not be shown: ${(e as Error).message}`));
    throw e;
  }
}

void start();
