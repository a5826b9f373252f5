// Label and field selectors of list and watch (k8s.io/apimachinery/pkg/labels and pkg/fields): `a=b,c!=d,e in (x,y),
// f notin (z),g,!h` for labels; `path=value,path!=value` over the few fields each kind indexes for fields.
import type { AnyObject, Kind } from '../cluster/store.ts';
import { badRequest } from './status.ts';

type LabelOp = 'in' | 'notin' | 'exists' | '!';
interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type Matcher = (obj: AnyObject) => boolean;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

function checkKey(key: string, whole: string): string {
  if (!LABEL_KEY.test(key) || key.length > 317) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${whole}"`);
  return key;
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  const reqs: LabelRequirement[] = [];
  for (const part of splitTopLevel(selector)) {
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) {
      reqs.push({ key: checkKey(m[1], selector), op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter(Boolean) });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) {
      reqs.push({ key: checkKey(m[1], selector), op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] });
      continue;
    }
    m = /^(!?)\s*([^=!\s()]+)$/.exec(part);
    if (m) {
      reqs.push({ key: checkKey(m[2], selector), op: m[1] ? '!' : 'exists', values: [] });
      continue;
    }
    throw badRequest(`unable to parse requirement: found '${part}', expected: identifier, '=', '!=', 'in' or 'notin' in selector "${selector}"`);
  }
  return reqs;
}

function labelMatcher(selector: string): Matcher {
  const reqs = parseLabelSelector(selector);
  return (obj) => {
    const labels = obj.metadata?.labels ?? {};
    return reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case '!':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key]);
        case 'notin':
          return !has || !r.values.includes(labels[r.key]);
      }
    });
  };
}

type FieldGetter = (o: AnyObject) => string | undefined;
const meta: Record<string, FieldGetter> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace ?? '',
};

/** The fields each kind can be selected by (the apiserver's field label conversion funcs and indexers). */
const FIELDS: Partial<Record<Kind, Record<string, FieldGetter>>> = {
  Pod: {
    'spec.nodeName': (o) => (o as { spec?: { nodeName?: string } }).spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => (o as { spec?: { restartPolicy?: string } }).spec?.restartPolicy ?? '',
    'spec.schedulerName': (o) => (o as { spec?: { schedulerName?: string } }).spec?.schedulerName ?? '',
    'spec.serviceAccountName': (o) => (o as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o) => String((o as { spec?: { hostNetwork?: boolean } }).spec?.hostNetwork ?? false),
    'status.phase': (o) => (o as { status?: { phase?: string } }).status?.phase ?? '',
    'status.podIP': (o) => (o as { status?: { podIP?: string } }).status?.podIP ?? '',
    'status.nominatedNodeName': (o) => (o as { status?: { nominatedNodeName?: string } }).status?.nominatedNodeName ?? '',
  },
  Node: { 'spec.unschedulable': (o) => String((o as { spec?: { unschedulable?: boolean } }).spec?.unschedulable ?? false) },
  Namespace: { 'status.phase': (o) => (o as { status?: { phase?: string } }).status?.phase ?? '' },
  Event: {
    ...Object.fromEntries(
      ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((f) => [
        `involvedObject.${f}`,
        (o: AnyObject) => String((o as { involvedObject?: Record<string, unknown> }).involvedObject?.[f] ?? ''),
      ]),
    ),
    reason: (o) => (o as { reason?: string }).reason ?? '',
    reportingComponent: (o) => (o as { reportingComponent?: string }).reportingComponent ?? '',
    source: (o) => (o as { source?: { component?: string } }).source?.component ?? '',
    type: (o) => (o as { type?: string }).type ?? '',
  },
};

function fieldMatcher(kind: Kind, selector: string): Matcher {
  const tests: Array<{ get: FieldGetter; value: string; negate: boolean }> = [];
  for (const part of splitTopLevel(selector)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const get = meta[m[1]] ?? FIELDS[kind]?.[m[1]];
    if (!get) throw badRequest(`field label not supported: ${m[1]}`);
    tests.push({ get, value: m[3], negate: m[2] === '!=' });
  }
  return (obj) => tests.every((t) => (t.get(obj) === t.value) !== t.negate);
}

/** One matcher for a list or watch request's selectors (either may be empty). */
export function selectorMatcher(kind: Kind, labelSelector: string | undefined, fieldSelector: string | undefined): Matcher {
  const l = labelSelector?.trim() ? labelMatcher(labelSelector) : undefined;
  const f = fieldSelector?.trim() ? fieldMatcher(kind, fieldSelector) : undefined;
  return (o) => (!l || l(o)) && (!f || f(o));
}
