// Manifest files (multi-document YAML, or `kind: List`) → typed objects, with every problem reported as
// file:line:column plus the field path, so a user can go straight to the line.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { formatFieldPath, key, type FieldError, type FieldPath } from '../apiserver/validation.ts';
import { formatIssue, offsetPos, syntaxIssues, type YamlIssue } from '../yaml-issues.ts';
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

const SUPPORTED: Record<string, Kind> = {
  'v1/Pod': 'Pod',
  'v1/Node': 'Node',
  'k8s.cni.cncf.io/v1/NetworkAttachmentDefinition': 'NetworkAttachmentDefinition',
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `[key]` path segments back to plain keys for YAML lookups. */
function yamlPath(path: FieldPath): Array<string | number> {
  return path.map((s) => (typeof s === 'string' && s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s));
}

class Checker {
  readonly issues: ManifestIssue[] = [];
  constructor(
    private readonly file: string,
    private readonly locate: (p: FieldPath) => { line: number; column: number },
  ) {}
  add(path: FieldPath, message: string): void {
    this.issues.push({ file: this.file, ...this.locate(path), field: formatFieldPath(path), message });
  }
  isMap(v: Json | undefined): v is { [k: string]: Json } {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
  map(v: Json | undefined, path: FieldPath, required = false): { [k: string]: Json } | undefined {
    return this.ofType(v, path, required, (x): x is { [k: string]: Json } => this.isMap(x), 'a map');
  }
  seq(v: Json | undefined, path: FieldPath, required = false): Json[] | undefined {
    return this.ofType(v, path, required, (x): x is Json[] => Array.isArray(x), 'a list');
  }
  /** a field that is absent (reported when required) or of one JSON type (reported when not) */
  private ofType<T extends Json>(v: Json | undefined, path: FieldPath, required: boolean, is: (x: Json) => x is T, noun: string): T | undefined {
    if (v === undefined || v === null) {
      if (required) this.add(path, 'Required value');
      return undefined;
    }
    if (!is(v)) {
      this.add(path, `Invalid value: ${JSON.stringify(v)}: must be ${noun}`);
      return undefined;
    }
    return v;
  }
  string(v: Json | undefined, path: FieldPath, required = false): void {
    if (v === undefined || v === null) {
      if (required) this.add(path, 'Required value');
    } else if (typeof v !== 'string') this.add(path, `Invalid value: ${JSON.stringify(v)}: must be a string`);
  }
  stringMap(v: Json | undefined, path: FieldPath): void {
    const m = this.map(v, path);
    if (m) for (const [k, x] of Object.entries(m)) this.string(x, [...path, key(k)]);
  }
  /** quantities may be YAML numbers; they become strings like the apiserver's decoder makes them */
  quantities(parent: { [k: string]: Json }, field: string, path: FieldPath): void {
    const m = this.map(parent[field], [...path, field]);
    if (!m) return;
    for (const [k, x] of Object.entries(m)) {
      if (typeof x === 'number') m[k] = String(x);
      else if (typeof x !== 'string') this.add([...path, field, key(k)], `Invalid value: ${JSON.stringify(x)}: must be a quantity`);
    }
  }
}

function checkContainers(c: Checker, spec: { [k: string]: Json }, field: string, required: boolean): void {
  const list = c.seq(spec[field], ['spec', field], required);
  list?.forEach((item, i) => {
    const p: FieldPath = ['spec', field, i];
    const ct = c.map(item, p, true);
    if (!ct) return;
    c.string(ct.name, [...p, 'name'], true);
    c.string(ct.image, [...p, 'image']);
    c.string(ct.restartPolicy, [...p, 'restartPolicy']);
    const res = c.map(ct.resources, [...p, 'resources']);
    if (res) {
      c.quantities(res, 'limits', [...p, 'resources']);
      c.quantities(res, 'requests', [...p, 'resources']);
    }
  });
}

function checkObject(c: Checker, kind: Kind, obj: { [k: string]: Json }): void {
  const meta = c.map(obj.metadata, ['metadata'], true);
  if (meta) {
    c.string(meta.name, ['metadata', 'name'], true);
    c.string(meta.namespace, ['metadata', 'namespace']);
    c.stringMap(meta.labels, ['metadata', 'labels']);
    c.stringMap(meta.annotations, ['metadata', 'annotations']);
  }
  if (kind === 'Pod') {
    const spec = c.map(obj.spec, ['spec'], true);
    if (!spec) return;
    checkContainers(c, spec, 'containers', true);
    checkContainers(c, spec, 'initContainers', false);
    c.stringMap(spec.nodeSelector, ['spec', 'nodeSelector']);
    c.string(spec.nodeName, ['spec', 'nodeName']);
    c.seq(spec.tolerations, ['spec', 'tolerations'])?.forEach((t, i) => {
      const tm = c.map(t, ['spec', 'tolerations', i]);
      if (!tm) return;
      for (const f of ['key', 'operator', 'value', 'effect']) c.string(tm[f], ['spec', 'tolerations', i, f]);
      if (tm.operator !== undefined && tm.operator !== 'Exists' && tm.operator !== 'Equal') {
        c.add(['spec', 'tolerations', i, 'operator'], `Unsupported value: ${JSON.stringify(tm.operator)}: supported values: "Equal", "Exists"`);
      }
    });
  } else if (kind === 'Node') {
    const spec = c.map(obj.spec, ['spec']);
    c.seq(spec?.taints, ['spec', 'taints'])?.forEach((t, i) => {
      const tm = c.map(t, ['spec', 'taints', i]);
      if (!tm) return;
      c.string(tm.key, ['spec', 'taints', i, 'key'], true);
      c.string(tm.value, ['spec', 'taints', i, 'value']);
      if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(tm.effect as string)) {
        c.add(['spec', 'taints', i, 'effect'], `Unsupported value: ${JSON.stringify(tm.effect ?? '')}: supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"`);
      }
    });
  } else if (kind === 'NetworkAttachmentDefinition') {
    const spec = c.map(obj.spec, ['spec']);
    if (spec) {
      c.string(spec.config, ['spec', 'config']);
      if (typeof spec.config === 'string' && spec.config.trim()) {
        try {
          JSON.parse(spec.config);
        } catch (e) {
          c.add(['spec', 'config'], `Invalid value: must be JSON: ${(e as Error).message}`);
        }
      }
    }
  }
}

/** Parses every document of a manifest; throws ManifestError listing every problem of every document. */
export function parseManifests(text: string, file: string): ManifestDoc[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const issues: ManifestIssue[] = [];
  const out: ManifestDoc[] = [];
  const pos = (offset: number): { line: number; column: number } => offsetPos(lineCounter, offset);
  if (!Array.isArray(docs)) return out; // an empty stream
  for (const doc of docs as Document.Parsed[]) {
    issues.push(...syntaxIssues(file, doc.errors, lineCounter, ''));
    if (doc.errors.length) continue;
    if (doc.contents === null) continue; // an empty document (e.g. a trailing ---)
    const js = doc.toJS({ maxAliasCount: 100 }) as Json;
    if (js === null || js === undefined) continue; // a document holding only comments or nothing
    // walks the YAML tree; a map key is located at the key itself, a missing field at its nearest existing parent
    const locateIn = (prefix: Array<string | number>) => (path: FieldPath): { line: number; column: number } => {
      let node: unknown = doc.contents;
      let at = node && (isMap(node) || isSeq(node) || isScalar(node)) && node.range ? node.range[0] : doc.range[0];
      for (const seg of [...prefix, ...yamlPath(path)]) {
        if (isMap(node)) {
          const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
          if (!pair) break;
          if (isScalar(pair.key) && pair.key.range) at = pair.key.range[0];
          node = pair.value;
        } else if (isSeq(node) && typeof seg === 'number') {
          node = node.items[seg];
          if (node && (isMap(node) || isSeq(node) || isScalar(node)) && node.range) at = node.range[0];
          else break;
        } else break;
      }
      return pos(at);
    };
    const items: Array<{ obj: Json; prefix: Array<string | number> }> = [];
    const top = locateIn([]);
    if (typeof js !== 'object' || js === null || Array.isArray(js)) {
      issues.push({ file, ...top([]), field: '', message: 'a manifest document must be a map with apiVersion and kind' });
      continue;
    }
    if (js.kind === 'List' && js.apiVersion === 'v1') {
      const list = Array.isArray(js.items) ? js.items : [];
      list.forEach((o, i) => items.push({ obj: o, prefix: ['items', i] }));
    } else items.push({ obj: js, prefix: [] });
    for (const { obj, prefix } of items) {
      const locate = locateIn(prefix);
      const c = new Checker(file, locate);
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        c.add([], 'a manifest object must be a map with apiVersion and kind');
        issues.push(...c.issues);
        continue;
      }
      c.string(obj.apiVersion, ['apiVersion'], true);
      c.string(obj.kind, ['kind'], true);
      if (c.issues.length) {
        issues.push(...c.issues);
        continue;
      }
      const kind = SUPPORTED[`${obj.apiVersion}/${obj.kind}`];
      if (!kind) {
        c.add(['kind'], `no matches for kind ${JSON.stringify(obj.kind)} in version ${JSON.stringify(obj.apiVersion)} (supported: v1 Pod, v1 Node, k8s.cni.cncf.io/v1 NetworkAttachmentDefinition)`);
        issues.push(...c.issues);
        continue;
      }
      checkObject(c, kind, obj);
      if (c.issues.length) {
        issues.push(...c.issues);
        continue;
      }
      const { line } = locate([]);
      out.push({
        file,
        line,
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

export function loadManifestFile(path: string): ManifestDoc[] {
  return parseManifests(readFileSync(path, 'utf8'), path);
}
