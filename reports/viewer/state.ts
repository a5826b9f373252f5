// Filter state of the HTML report and its URL form. Kept in the location hash (`#status=failed&q=restart`) so a
// filtered view is a link, survives a reload, and works from file:// (no server, no query string rewriting).
// Pure: tested in Node.
import type { ScenarioResult, Status } from '../types.ts';

export interface ViewState {
  status: Status | 'all';
  /** case-insensitive substring of the scenario name, file, id or description */
  q: string;
  tag: string;
  resource: string;
  /** ids of expanded scenarios */
  open: string[];
}

export const EMPTY_STATE: ViewState = { status: 'all', q: '', tag: '', resource: '', open: [] };

const STATUSES = new Set(['all', 'passed', 'failed', 'skipped']);

export function parseHash(hash: string): ViewState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const status = p.get('status') ?? 'all';
  return {
    status: (STATUSES.has(status) ? status : 'all') as ViewState['status'],
    q: p.get('q') ?? '',
    tag: p.get('tag') ?? '',
    resource: p.get('resource') ?? '',
    open: p.getAll('open'),
  };
}

/** "" for the empty state, so an unfiltered report has a clean URL */
export function formatHash(state: ViewState): string {
  const p = new URLSearchParams();
  if (state.status !== 'all') p.set('status', state.status);
  if (state.q) p.set('q', state.q);
  if (state.tag) p.set('tag', state.tag);
  if (state.resource) p.set('resource', state.resource);
  for (const id of state.open) p.append('open', id);
  const s = p.toString();
  return s ? `#${s}` : '';
}

export function matches(s: ScenarioResult, state: ViewState): boolean {
  if (state.status !== 'all' && s.status !== state.status) return false;
  if (state.tag && !s.tags.includes(state.tag)) return false;
  if (state.resource && !s.resources.includes(state.resource)) return false;
  if (state.q) {
    const q = state.q.toLowerCase();
    const hay = `${s.name}\n${s.file}\n${s.id}\n${s.description ?? ''}`.toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

export function allTags(scenarios: readonly ScenarioResult[]): string[] {
  return [...new Set(scenarios.flatMap((s) => s.tags))].sort();
}

export function allResources(scenarios: readonly ScenarioResult[]): string[] {
  return [...new Set(scenarios.flatMap((s) => s.resources))].sort();
}
