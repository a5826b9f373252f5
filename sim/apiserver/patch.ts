// The three patch formats of PATCH, over objects in their JSON form: JSON patch (RFC 6902), JSON merge patch
// (RFC 7386) and strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch): maps merged, lists of
// structs merged by their patchMergeKey (containers by name, env by name, ports by containerPort…), the `$patch`,
// `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` directives kubectl apply sends.
import { fieldOf, mergeKeyOf, type FieldType } from './schema.ts';
import { ApiError, badRequest } from './status.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

// ---- JSON patch ----

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: JSON pointer ${JSON.stringify(path)} does not start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function parentOf(doc: Json, segs: string[], op: string): { parent: JsonObject | Json[]; key: string } {
  let cur: Json = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObject(cur)) cur = cur[s];
    else cur = undefined as unknown as Json;
    if (cur === undefined || cur === null || typeof cur !== 'object') throw patchFailed(`${op} operation does not apply: doc is missing path: "/${segs.join('/')}"`);
  }
  return { parent: cur as JsonObject | Json[], key: segs[segs.length - 1] };
}

function arrayIndex(arr: Json[], key: string, allowEnd: boolean, op: string, path: string): number {
  if (key === '-' && allowEnd) return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw patchFailed(`${op} operation does not apply: invalid array index "${key}" in "${path}"`);
  const i = Number(key);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw patchFailed(`${op} operation does not apply: index ${i} out of range in "${path}"`);
  return i;
}

function getAt(doc: Json, path: string, op: string): Json {
  let cur: Json = doc;
  for (const s of pointer(path)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
    if (next === undefined) throw patchFailed(`${op} operation does not apply: doc is missing path: "${path}"`);
    cur = next;
  }
  return cur;
}

function removeAt(doc: Json, path: string, op: string): Json {
  const segs = pointer(path);
  if (!segs.length) throw patchFailed(`${op} operation does not apply: cannot remove the whole document`);
  const { parent, key } = parentOf(doc, segs, op);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, false, op, path);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent)) throw patchFailed(`${op} operation does not apply: doc is missing path: "${path}"`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function addAt(doc: Json, path: string, value: Json, op: string, replace: boolean): Json {
  const segs = pointer(path);
  if (!segs.length) return value;
  const { parent, key } = parentOf(doc, segs, op);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, !replace, op, path);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !(key in parent)) throw patchFailed(`${op} operation does not apply: doc is missing key: "${path}"`);
    parent[key] = value;
  }
  return doc;
}

export function applyJsonPatch(doc: Json, patch: unknown): Json {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = clone(doc);
  for (const raw of patch) {
    if (!isObject(raw) || typeof raw.op !== 'string') throw badRequest('the patch operation is missing its "op"');
    const op = raw.op;
    const path = typeof raw.path === 'string' ? raw.path : undefined;
    if (path === undefined) throw badRequest(`the ${op} operation is missing its "path"`);
    switch (op) {
      case 'add':
        out = addAt(out, path, clone(raw.value ?? null), op, false);
        break;
      case 'replace':
        out = addAt(out, path, clone(raw.value ?? null), op, true);
        break;
      case 'remove':
        removeAt(out, path, op);
        break;
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequest(`the ${op} operation is missing its "from"`);
        const v = op === 'move' ? removeAt(out, raw.from, op) : clone(getAt(out, raw.from, op));
        out = addAt(out, path, v, op, false);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(out, path, op)) !== JSON.stringify(raw.value ?? null)) throw patchFailed(`testing value ${path} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return out;
}

// ---- JSON merge patch ----

export function applyMergePatch(doc: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(doc) ? clone(doc) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k] ?? null, v);
  }
  return out;
}

// ---- strategic merge patch ----

const DIRECTIVE_PREFIXES = ['$setElementOrder/', '$deleteFromPrimitiveList/'];

/** A value being added as it is: directives are patch syntax, never data. */
function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x.$patch !== undefined && Object.keys(x).length === 1)).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$patch' || k === '$retainKeys' || DIRECTIVE_PREFIXES.some((p) => k.startsWith(p))) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function keyEq(a: Json | undefined, b: Json | undefined): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function mergeListByKey(orig: Json[], patch: Json[], key: string, elem: FieldType | undefined): Json[] {
  if (patch.some((p) => isObject(p) && p.$patch === 'replace' && Object.keys(p).length === 1)) return stripDirectives(patch) as Json[];
  const out = orig.map(clone);
  for (const p of patch) {
    if (!isObject(p)) {
      out.push(p);
      continue;
    }
    const i = out.findIndex((o) => isObject(o) && keyEq(o[key], p[key]));
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMerge(out[i], p, elem);
    else out.push(stripDirectives(p));
  }
  return out;
}

function reorder(list: Json[], order: Json[], key: string | null): Json[] {
  const id = (x: Json) => (key && isObject(x) ? JSON.stringify(x[key]) : JSON.stringify(x));
  const pos = new Map(order.map((o, i) => [key && isObject(o) ? JSON.stringify(o[key]) : JSON.stringify(o), i]));
  const known = list.filter((x) => pos.has(id(x))).sort((a, b) => pos.get(id(a))! - pos.get(id(b))!);
  return [...known, ...list.filter((x) => !pos.has(id(x)))];
}

/** Applies a strategic merge patch to `orig`, an object of type `t` (its JSON form). */
export function strategicMerge(orig: Json | undefined, patch: Json, t: FieldType | undefined): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return {};
  const out: JsonObject = isObject(orig) ? clone(orig) : {};
  const later: Array<() => void> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      const field = k.slice('$setElementOrder/'.length);
      const mk = t ? mergeKeyOf(t, field) : undefined;
      if (Array.isArray(v)) later.push(() => Array.isArray(out[field]) && (out[field] = reorder(out[field] as Json[], v, mk ?? null)));
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(v) && Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((x) => !v.some((d) => keyEq(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const ft = t ? fieldOf(t, k) : undefined;
    if (Array.isArray(v)) {
      const mk = t ? mergeKeyOf(t, k) : undefined;
      const cur = Array.isArray(out[k]) ? (out[k] as Json[]) : [];
      if (typeof mk === 'string') out[k] = mergeListByKey(cur, v, mk, ft?.t === 'array' ? ft.items : undefined);
      else if (mk === null) out[k] = [...cur, ...v.filter((x) => !cur.some((c) => keyEq(c, x)))];
      else out[k] = stripDirectives(v);
      continue;
    }
    if (isObject(v)) {
      if (v.$patch === 'delete') {
        delete out[k];
        continue;
      }
      out[k] = strategicMerge(out[k], v, ft);
      continue;
    }
    out[k] = v;
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  for (const f of later) f();
  return out;
}

export type { Json, JsonObject };
