// Manifest files (multi-document YAML, or `kind: List`) → typed objects, with every problem reported as
// file:line:column plus the field path, so a user can go straight to the line. The fields the simulator reads are
// shapes (sim/shape/), walked in the apiserver's words; the apiserver's own validation comes after (sim/apiserver/).
import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import type { V1Pod } from '@kubernetes/client-node';
import { admitPodObject, formatFieldPath, InvalidObjectError, type FieldError, type FieldPath } from '../apiserver/validation.ts';
import { opt, req, type FieldShape, type Shape, type Walked } from '../shape/shape.ts';
import { Walker, type Dialect } from '../shape/walker.ts';
import { deref, documentValue, formatIssue, nodePos, quoteShort, unparsableIssue, sortIssues, syntaxIssues, type YamlIssue } from '../yaml-issues.ts';
import type { AnyObject, Kind } from './store.ts';

/**
 * A problem in a manifest: line and column are 1-based (a manifest always has source text), field is a Go-style
 * path (`spec.containers[0].resources.limits[intel.com/sriov]`), '' for the document.
 */
export type ManifestIssue = YamlIssue;

export class ManifestError extends Error {
  readonly issues: ManifestIssue[];
  constructor(issues: ManifestIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ManifestError';
    this.issues = issues;
  }
  get file(): string {
    return this.issues[0]?.file ?? '';
  }
  get line(): number {
    return this.issues[0]?.line ?? 0;
  }
  get field(): string {
    return this.issues[0]?.field ?? '';
  }
}

export interface ManifestDoc {
  file: string;
  /** line of the object's first line */
  line: number;
  kind: Kind;
  object: AnyObject;
  /** where a field of this object is in the file (the nearest existing parent when the field is absent) */
  locate(path: FieldPath): { line: number; column: number };
  /** turns apiserver field errors of this object into manifest issues pointing at lines */
  issuesFor(errors: FieldError[]): ManifestIssue[];
}

/** the kinds a manifest may hold */
type ManifestKind = Extract<Kind, 'Pod' | 'Node' | 'NetworkAttachmentDefinition'>;

const SUPPORTED: Record<string, ManifestKind> = {
  'v1/Pod': 'Pod',
  'v1/Node': 'Node',
  'k8s.cni.cncf.io/v1/NetworkAttachmentDefinition': 'NetworkAttachmentDefinition',
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** a value as a message quotes it: its JSON, cut short when long (as quoteShort cuts a string) */
function shortJson(v: unknown): string {
  if (typeof v === 'string') return quoteShort(v);
  const text = JSON.stringify(v) ?? 'null';
  return text.length <= 80 ? text : `${text.slice(0, 60)}… (${text.length} characters)`;
}

/** the apiserver's wording: Go-style paths (`limits[intel.com/sriov]`), `Required value`, `Invalid value: …` */
const apiserverDialect: Dialect = {
  join: (path, key, inMap) => (inMap ? `${path}[${key}]` : path ? `${path}.${key}` : key),
  at: 'key',
  required: 'Required value',
  wrongType: (noun, node) => `Invalid value: ${shortJson(node === null ? null : (node.toJSON() as unknown))}: must be ${noun}`,
  notOneOf: (value, allowed) => `Unsupported value: ${quoteShort(value)}: supported values: ${[...allowed].sort().map((a) => JSON.stringify(a)).join(', ')}`,
  mapping: 'a map',
};

// The fields the simulator reads; every other field is kept as written (the objects are open).
const str: Shape = { t: 'string' };
const open = (fields: Record<string, FieldShape>): Shape => ({ t: 'object', open: true, fields });
/** labels, annotations, node selectors: a key without a value is "", as the decoder makes it */
const stringMap: Shape = { t: 'map', values: { t: 'string', nullAs: '' } };
/** resource quantities; a YAML number is one too */
const quantities: Shape = { t: 'map', values: { t: 'string', numbers: true, noun: 'a quantity' } };
const containers: Shape = {
  t: 'array',
  items: open({
    name: req(str),
    image: opt(str),
    restartPolicy: opt(str),
    resources: opt(open({ limits: opt(quantities), requests: opt(quantities) })),
  }),
};
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const header = { apiVersion: req(str), kind: req(str) };
const object = (spec: FieldShape): Shape =>
  open({ ...header, metadata: req(open({ name: req(str), namespace: opt(str), labels: opt(stringMap), annotations: opt(stringMap) })), spec });

function jsonProblem(text: string): string | undefined {
  if (!text.trim()) return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    return `Invalid value: must be JSON: ${(e as Error).message}`;
  }
}

const shapes: Record<ManifestKind, Shape> = {
  Pod: object(req(open({
    containers: req(containers),
    initContainers: opt(containers),
    nodeSelector: opt(stringMap),
    nodeName: opt(str),
    tolerations: opt({
      t: 'array',
      items: open({ key: opt(str), operator: opt({ t: 'string', enum: ['Exists', 'Equal'] }), value: opt(str), effect: opt(str) }),
    }),
  }))),
  Node: object(opt(open({
    taints: opt({ t: 'array', items: open({ key: req(str), value: opt(str), effect: opt({ t: 'string', enum: TAINT_EFFECTS }) }) }),
  }))),
  NetworkAttachmentDefinition: object(opt(open({ config: opt({ t: 'string', check: jsonProblem }) }))),
};

/** the apiserver rejects a taint without an effect as the unsupported effect "" */
function taintsWithoutEffect(w: Walker, node: Walked<{ spec: { taints: Array<{ effect: string }> } }> | undefined): void {
  node?.spec?.taints?.forEach((t, i) => {
    const path = `spec.taints[${i}].effect`;
    if (t && t.effect === undefined && w.issuesUnder(path) === 0) w.report(path, apiserverDialect.notOneOf('', TAINT_EFFECTS));
  });
}

/** quantities may be YAML numbers; they become strings, as the apiserver's decoder makes them */
function quantitiesAsStrings(obj: { [k: string]: Json }): void {
  const spec = obj.spec as { [k: string]: Json } | undefined;
  for (const list of [spec?.containers, spec?.initContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list as Array<{ resources?: { [r: string]: { [k: string]: Json } } }>) {
      for (const m of [c.resources?.limits, c.resources?.requests]) {
        if (m) for (const [k, v] of Object.entries(m)) if (typeof v === 'number') m[k] = String(v);
      }
    }
  }
}

/** Parses every document of a manifest; throws ManifestError listing every problem of every document. */
export function parseManifests(text: string, file: string): ManifestDoc[] {
  const notText = unparsableIssue(file, text);
  if (notText) throw new ManifestError([notText]);
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const issues: ManifestIssue[] = [];
  const out: ManifestDoc[] = [];
  if (!Array.isArray(docs)) return out; // an empty stream
  for (const doc of docs as Document.Parsed[]) {
    issues.push(...syntaxIssues(file, doc.errors, lineCounter, ''));
    if (doc.errors.length) continue;
    if (doc.contents === null) continue; // an empty document (e.g. a trailing ---)
    const built = documentValue(doc, file, lineCounter, '');
    if ('issue' in built) {
      issues.push(built.issue);
      continue;
    }
    const js = built.value as Json;
    if (js === null || js === undefined) continue; // a document holding only comments or nothing
    const root = deref(doc, doc.contents);
    if (typeof js !== 'object' || Array.isArray(js)) {
      issues.push({ file, ...nodePos(lineCounter, root), field: '', message: 'a manifest document must be a map with apiVersion and kind' });
      continue;
    }
    const items: Array<{ obj: Json; node: YamlNode | null }> = [];
    if (js.kind === 'List' && js.apiVersion === 'v1') {
      const list = isMap(root) ? deref(doc, root.get('items', true)) : null;
      (Array.isArray(js.items) ? js.items : []).forEach((obj, i) => items.push({ obj, node: isSeq(list) ? deref(doc, list.items[i]) : null }));
    } else items.push({ obj: js, node: root });
    for (const { obj, node } of items) {
      // one walker per object: field paths and positions are the object's own
      const w = new Walker(file, doc, lineCounter, { dialect: apiserverDialect });
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        issues.push({ file, ...w.pos(node), field: '', message: 'a manifest object must be a map with apiVersion and kind' });
        continue;
      }
      w.walk(node, open(header), '');
      const kind = w.issues.length ? undefined : SUPPORTED[`${obj.apiVersion as string}/${obj.kind as string}`];
      if (!w.issues.length && !kind) {
        w.report('kind', `no matches for kind ${shortJson(obj.kind)} in version ${shortJson(obj.apiVersion)} (supported: v1 Pod, v1 Node, k8s.cni.cncf.io/v1 NetworkAttachmentDefinition)`);
      }
      if (kind) {
        const walked = w.walk(node, shapes[kind], '');
        if (kind === 'Node') taintsWithoutEffect(w, walked as Parameters<typeof taintsWithoutEffect>[1]);
      }
      if (w.issues.length || !kind) {
        issues.push(...sortIssues(w.issues, file));
        continue;
      }
      quantitiesAsStrings(obj);
      const locate = (path: FieldPath): { line: number; column: number } => w.at(formatFieldPath(path));
      out.push({
        file,
        line: locate([]).line,
        kind,
        object: obj as unknown as AnyObject,
        locate,
        issuesFor: (errors) =>
          errors.map((e) => ({ file, ...locate(e.path), field: e.field, message: String(e).slice(e.field.length + 2) })),
      });
    }
  }
  if (issues.length) throw new ManifestError(issues);
  return out;
}

/**
 * The apiserver's pod validation over a manifest's pods, before anything is sent or applied: each error at its line
 * (`file:13:9: spec.containers[1].resources.requests: Invalid value: …` (Pod "x" is invalid)).
 */
export function podAdmissionIssues(docs: ManifestDoc[]): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  for (const d of docs) {
    if (d.kind !== 'Pod') continue;
    try {
      admitPodObject(d.object as V1Pod);
    } catch (e) {
      if (!(e instanceof InvalidObjectError)) throw e;
      issues.push(...d.issuesFor(e.errors).map((i) => ({ ...i, message: `${i.message} (${e.kind} ${JSON.stringify(e.objectName)} is invalid)` })));
    }
  }
  return issues;
}

export function loadManifestFile(path: string): ManifestDoc[] {
  return parseManifests(readFileSync(path, 'utf8'), path);
}
