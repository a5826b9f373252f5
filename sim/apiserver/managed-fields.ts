// Field ownership (metadata.managedFields), as server-side apply keeps it (k8s.io/apiserver fieldmanager over
// structured-merge-diff): every write names a manager; an Update owns the fields it changed (taking them from the
// others), an Apply owns exactly the fields of its configuration. An Apply that would change a field another manager
// owns is a conflict (409, the apiserver's message and one FieldManagerConflict cause per field) unless forced, which
// takes the field over; a field an applier stops applying is removed from the object when nobody else owns it.
// Fields are written in FieldsV1 form (`f:<name>`, `k:{"name":"app"}` for an element of a list merged by key,
// `v:<json>` for a member of a set of primitives, `.` for the element itself).
import type { FieldType } from './schema.ts';
import { fieldOf, mergeKeyOf } from './schema.ts';
import { ApiError } from './status.ts';
import type { Json, JsonObject } from './patch.ts';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** a leaf field: its FieldsV1 path elements */
type Path = string[];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const SEP = '\u0000';
const keyOf = (p: Path) => p.join(SEP);

/** metadata fields the server owns (the fieldmanager resets them before it compares) */
const META_RESET = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']);

/** The part of an object a write on `subresource` manages: status only on /status, all but status on the main one. */
function managedPart(obj: JsonObject, hasStatus: boolean, subresource: string | undefined): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (subresource === 'status' && k !== 'status') continue;
    if (subresource !== 'status' && hasStatus && k === 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      const m: JsonObject = {};
      for (const [mk, mv] of Object.entries(v)) if (!META_RESET.has(mk)) m[mk] = mv;
      if (Object.keys(m).length) out.metadata = m;
      continue;
    }
    out[k] = v;
  }
  return out;
}

function elementKey(item: Json, key: string): string | undefined {
  if (!isObject(item) || item[key] === undefined) return undefined;
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

/** The leaf fields of a JSON value of type `t`, each with its value (undefined for `.` and set members). */
function leaves(v: Json, t: FieldType | undefined, prefix: Path, out: Map<string, { path: Path; value: Json | undefined }>): void {
  if (!isObject(v)) {
    out.set(keyOf(prefix), { path: prefix, value: v });
    return;
  }
  if (!Object.keys(v).length && prefix.length) {
    out.set(keyOf(prefix), { path: prefix, value: v });
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue;
    const p = [...prefix, `f:${k}`];
    const ft = t ? fieldOf(t, k) : undefined;
    if (Array.isArray(x)) {
      const mk = t ? mergeKeyOf(t, k) : undefined;
      if (typeof mk === 'string' && x.every((e) => elementKey(e, mk))) {
        for (const e of x) {
          const ep = [...p, elementKey(e, mk)!];
          out.set(keyOf([...ep, '.']), { path: [...ep, '.'], value: undefined });
          leaves(e, ft?.t === 'array' ? ft.items : undefined, ep, out);
        }
      } else if (mk === null && x.every((e) => !isObject(e) && !Array.isArray(e))) {
        for (const e of x) out.set(keyOf([...p, `v:${JSON.stringify(e)}`]), { path: [...p, `v:${JSON.stringify(e)}`], value: undefined });
      } else out.set(keyOf(p), { path: p, value: x });
      continue;
    }
    leaves(x, ft, p, out);
  }
}

export function fieldLeaves(obj: JsonObject, t: FieldType | undefined, hasStatus: boolean, subresource?: string): Map<string, { path: Path; value: Json | undefined }> {
  const out = new Map<string, { path: Path; value: Json | undefined }>();
  leaves(managedPart(obj, hasStatus, subresource), t, [], out);
  return out;
}

/** FieldsV1 of a set of leaf paths */
function toFieldsV1(paths: Iterable<Path>): JsonObject {
  const root: JsonObject = {};
  for (const p of paths) {
    let cur = root;
    for (const e of p) cur = (cur[e] ??= {}) as JsonObject;
  }
  return root;
}

function fromFieldsV1(f: JsonObject | undefined, prefix: Path = [], out = new Map<string, Path>()): Map<string, Path> {
  for (const [k, v] of Object.entries(f ?? {})) {
    const p = [...prefix, k];
    if (isObject(v) && Object.keys(v).length) fromFieldsV1(v, p, out);
    else out.set(keyOf(p), p);
  }
  return out;
}

/** `.spec.containers[name="app"].image`: a path as the apiserver's conflict message prints it */
export function pathString(p: Path): string {
  return p
    .filter((e) => e !== '.')
    .map((e) => {
      if (e.startsWith('f:')) return `.${e.slice(2)}`;
      if (e.startsWith('v:')) return `[=${e.slice(2)}]`;
      const k = JSON.parse(e.slice(2)) as Record<string, Json>;
      return `[${Object.entries(k)
        .map(([n, x]) => `${n}=${JSON.stringify(x)}`)
        .join(',')}]`;
    })
    .join('');
}

/** printManager: an Update's manager with its apiVersion (and time), an Apply's by its name */
function printManager(e: ManagedFieldsEntry): string {
  return e.operation === 'Update' ? `${JSON.stringify(e.manager)} using ${e.apiVersion} at ${e.time}` : JSON.stringify(e.manager);
}

export interface WriteInfo {
  manager: string;
  apiVersion: string;
  subresource?: string;
  nowMs: number;
  type: FieldType | undefined;
  hasStatus: boolean;
}

function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function sameEntry(e: ManagedFieldsEntry, manager: string, operation: string, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');
}

function withEntry(entries: ManagedFieldsEntry[], w: WriteInfo, operation: 'Apply' | 'Update', paths: Iterable<Path>): ManagedFieldsEntry[] {
  const list = [...paths];
  const rest = entries.filter((e) => !sameEntry(e, w.manager, operation, w.subresource));
  if (!list.length) return rest;
  const entry: ManagedFieldsEntry = { manager: w.manager, operation, apiVersion: w.apiVersion, time: rfc3339(w.nowMs), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(list), ...(w.subresource ? { subresource: w.subresource } : {}) };
  return [...rest, entry];
}

/** drops `taken` leaves from every entry but the writer's; entries left with nothing go */
function without(entries: ManagedFieldsEntry[], taken: Set<string>, keep: (e: ManagedFieldsEntry) => boolean): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (keep(e)) {
      out.push(e);
      continue;
    }
    const paths = [...fromFieldsV1(e.fieldsV1).entries()].filter(([k]) => !taken.has(k)).map(([, p]) => p);
    if (paths.length) out.push({ ...e, fieldsV1: toFieldsV1(paths) });
  }
  return out;
}

/** The managed fields after an Update from `old` (absent: a create) to `next`: the writer owns what it changed. */
export function updateManagedFields(old: JsonObject | undefined, next: JsonObject, entries: ManagedFieldsEntry[], w: WriteInfo): ManagedFieldsEntry[] {
  const before = old ? fieldLeaves(old, w.type, w.hasStatus, w.subresource) : new Map<string, { path: Path; value: Json | undefined }>();
  const after = fieldLeaves(next, w.type, w.hasStatus, w.subresource);
  const changed = new Set<string>();
  for (const [k, l] of after) if (!before.has(k) || JSON.stringify(before.get(k)!.value) !== JSON.stringify(l.value)) changed.add(k);
  const removed = new Set([...before.keys()].filter((k) => !after.has(k)));
  const mine = (e: ManagedFieldsEntry) => sameEntry(e, w.manager, 'Update', w.subresource);
  const own = entries.find(mine);
  const kept = own ? [...fromFieldsV1(own.fieldsV1).entries()].filter(([k]) => !removed.has(k)).map(([k, p]) => [k, p] as const) : [];
  const paths = new Map<string, Path>(kept);
  for (const k of changed) paths.set(k, after.get(k)!.path);
  const others = without(entries, new Set([...changed, ...removed]), mine);
  return withEntry(others, w, 'Update', paths.values());
}

function valueOf(obj: Json | undefined, p: Path): Json | undefined {
  let cur: Json | undefined = obj;
  for (const e of p) {
    if (cur === undefined || cur === null) return undefined;
    if (e === '.') return cur;
    if (e.startsWith('f:')) cur = isObject(cur) ? cur[e.slice(2)] : undefined;
    else if (e.startsWith('k:')) {
      const k = JSON.parse(e.slice(2)) as Record<string, Json>;
      cur = Array.isArray(cur) ? cur.find((x) => isObject(x) && Object.entries(k).every(([n, v]) => JSON.stringify(x[n]) === JSON.stringify(v))) : undefined;
    } else if (e.startsWith('v:')) return Array.isArray(cur) && cur.some((x) => JSON.stringify(x) === e.slice(2)) ? true : undefined;
  }
  return cur;
}

function deleteAt(obj: JsonObject, p: Path): void {
  const parentPath = p[p.length - 1] === '.' ? p.slice(0, -1) : p;
  const last = parentPath[parentPath.length - 1];
  const parent = valueOf(obj, parentPath.slice(0, -1));
  if (last.startsWith('f:') && isObject(parent)) delete parent[last.slice(2)];
  else if ((last.startsWith('k:') || last.startsWith('v:')) && Array.isArray(parent)) {
    const target = valueOf(obj, parentPath);
    const i = last.startsWith('k:') ? parent.indexOf(target as Json) : parent.findIndex((x) => JSON.stringify(x) === last.slice(2));
    if (i >= 0) parent.splice(i, 1);
  }
  // an emptied map or list goes too (Go's omitempty: the apiserver never shows `labels: {}`)
  const up = parentPath.slice(0, -1);
  const emptied = valueOf(obj, up);
  if (up.length && up[up.length - 1].startsWith('f:') && ((isObject(emptied) && !Object.keys(emptied).length) || (Array.isArray(emptied) && !emptied.length))) deleteAt(obj, up);
}

/**
 * A server-side apply of `applied` onto `current` (merged is current with the configuration merged in): the conflicts
 * (409 unless `force`), the fields the applier no longer applies removed from `merged` when nobody else owns them,
 * and the managed fields after it.
 */
export function applyManagedFields(current: JsonObject | undefined, applied: JsonObject, merged: JsonObject, entries: ManagedFieldsEntry[], w: WriteInfo, force: boolean): ManagedFieldsEntry[] {
  const mine = (e: ManagedFieldsEntry) => sameEntry(e, w.manager, 'Apply', w.subresource);
  const set = fieldLeaves(applied, w.type, w.hasStatus, w.subresource);
  const conflicts: Array<{ entry: ManagedFieldsEntry; path: Path }> = [];
  for (const e of entries) {
    if (mine(e) || (e.subresource ?? '') !== (w.subresource ?? '')) continue;
    for (const [k, p] of fromFieldsV1(e.fieldsV1)) {
      const leaf = set.get(k);
      if (!leaf || p[p.length - 1] === '.' || p[p.length - 1].startsWith('v:')) continue;
      if (JSON.stringify(valueOf(current, p)) !== JSON.stringify(leaf.value)) conflicts.push({ entry: e, path: p });
    }
  }
  if (conflicts.length && !force) throw conflictError(conflicts);
  // what the applier owned before and applies no more goes, unless another manager owns it
  const before = entries.find(mine);
  const othersOwn = new Set(entries.filter((e) => !mine(e)).flatMap((e) => [...fromFieldsV1(e.fieldsV1).keys()]));
  for (const [k, p] of fromFieldsV1(before?.fieldsV1)) if (!set.has(k) && !othersOwn.has(k)) deleteAt(merged, p);
  const taken = new Set(conflicts.map((c) => keyOf(c.path)));
  const others = without(entries, taken, mine);
  return withEntry(others, w, 'Apply', [...set.values()].map((l) => l.path));
}

function conflictError(conflicts: Array<{ entry: ManagedFieldsEntry; path: Path }>): ApiError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.entry)}`, field: pathString(c.path) }));
  let message: string;
  if (conflicts.length === 1) message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].entry)}: ${pathString(conflicts[0].path)}`;
  else {
    const by = new Map<string, string[]>();
    for (const c of conflicts) by.set(printManager(c.entry), [...(by.get(printManager(c.entry)) ?? []), pathString(c.path)]);
    const lines: string[] = [];
    for (const m of [...by.keys()].sort()) lines.push(`conflicts with ${m}:`, ...by.get(m)!.map((p) => `- ${p}`));
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}
