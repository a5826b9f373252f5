// A small description language for the shapes of scenario files. One `Shape` tree drives three things, so they can
// never disagree: the structural check of a parsed YAML document (with file:line:column of every problem and "did you
// mean" for unknown keys), the conversion to plain JS values, and the JSON Schema written for editors (schema.ts).
// Rules that span fields (exactly one of file/resource, a node that exists in the topology) live in load.ts.
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { deref, describeNode as describe, nodePos, suggestion } from '../../sim/yaml-issues.ts';
import type { Pos, YamlIssue } from '../../sim/yaml-issues.ts';

export type { Pos } from '../../sim/yaml-issues.ts';

export type Shape =
  | { t: 'string'; enum?: readonly string[]; pattern?: string; minLength?: number; desc?: string }
  | { t: 'integer'; min?: number; max?: number; desc?: string }
  | { t: 'boolean'; desc?: string }
  /** a closed mapping: unknown keys are errors */
  | { t: 'object'; fields: Record<string, FieldShape>; desc?: string }
  /** an open mapping with values of one shape */
  | { t: 'map'; values: Shape; desc?: string }
  | { t: 'array'; items: Shape; minItems?: number; desc?: string }
  /** alternatives told apart by the YAML node's type (scalar / mapping / list) */
  | { t: 'oneOf'; options: readonly Shape[]; desc?: string }
  /** any JSON value (a Kubernetes manifest, an expected partial object) */
  | { t: 'json'; object?: boolean; desc?: string }
  | { t: 'ref'; name: string };

export interface FieldShape {
  shape: Shape;
  required?: boolean;
}

/** a problem in a scenario file: file:line:column (0:0 without source text), field path, message */
export type Issue = YamlIssue;

/** a mapping value that counts as not given (null) */
const ABSENT = Symbol('absent');

/** walks a YAML document; collects issues and the position of every field path it visits */
export class Walker {
  readonly issues: Issue[] = [];
  readonly positions = new Map<string, Pos>();
  readonly keyPositions = new Map<string, Pos>();
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lc: LineCounter | null,
    readonly defs: Record<string, Shape>,
  ) {}

  pos(node: YamlNode | null | undefined): Pos {
    return nodePos(this.lc, node);
  }

  /** the position of a path (its key when it is a mapping field), else of its nearest parent */
  at(path: string): Pos {
    for (let p = path; ; ) {
      const hit = this.keyPositions.get(p) ?? this.positions.get(p);
      if (hit) return hit;
      if (p === '') return { line: 0, column: 0 };
      p = parentPath(p);
    }
  }

  /** the position of the value at path (not its key) */
  valueAt(path: string): Pos {
    return this.positions.get(path) ?? this.at(path);
  }

  report(path: string, message: string, where?: Pos): void {
    this.issues.push({ file: this.file, ...(where ?? this.at(path)), field: path, message });
  }

  deref(node: unknown): YamlNode | null {
    return deref(this.doc, node);
  }

  /** checks `node` against `shape`; returns the JS value, or undefined after reporting */
  walk(node: YamlNode | null, shape: Shape, path: string): unknown {
    node = this.deref(node);
    this.positions.set(path, this.pos(node));
    if (shape.t === 'ref') {
      const target = this.defs[shape.name];
      if (!target) throw new Error(`shape definition "${shape.name}" is missing`);
      return this.walk(node, target, path);
    }
    switch (shape.t) {
      case 'string': {
        // numbers and booleans are accepted where a string is expected only when quoted; say so
        if (!isScalar(node) || typeof node.value !== 'string') {
          const hint = isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean') ? ` (quote it: "${String(node.value)}")` : '';
          this.report(path, `expected a string, got ${describe(node)}${hint}`, this.pos(node));
          return undefined;
        }
        const s = node.value;
        if (shape.enum && !shape.enum.includes(s)) {
          this.report(path, `"${s}" is not one of ${shape.enum.join(', ')}${suggestion(s, shape.enum)}`, this.pos(node));
          return undefined;
        }
        if (shape.minLength !== undefined && s.length < shape.minLength) {
          this.report(path, 'must not be empty', this.pos(node));
          return undefined;
        }
        if (shape.pattern && !new RegExp(shape.pattern, 'u').test(s)) {
          this.report(path, `"${s}" does not match ${shape.pattern}`, this.pos(node));
          return undefined;
        }
        return s;
      }
      case 'integer': {
        if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
          this.report(path, `expected an integer, got ${describe(node)}`, this.pos(node));
          return undefined;
        }
        const v = node.value;
        if ((shape.min !== undefined && v < shape.min) || (shape.max !== undefined && v > shape.max)) {
          this.report(path, `${v} is out of range ${shape.min ?? '-∞'}..${shape.max ?? '∞'}`, this.pos(node));
          return undefined;
        }
        return v;
      }
      case 'boolean': {
        if (!isScalar(node) || typeof node.value !== 'boolean') {
          this.report(path, `expected true or false, got ${describe(node)}`, this.pos(node));
          return undefined;
        }
        return node.value;
      }
      case 'object':
        return this.object(node, shape.fields, path);
      case 'map': {
        const m = this.mapping(node, path, (key, value) => this.walk(value as YamlNode | null, shape.values, key.sub));
        return m?.ok ? m.out : undefined;
      }
      case 'array': {
        if (!isSeq(node)) {
          this.report(path, `expected a list, got ${describe(node)}`, this.pos(node));
          return undefined;
        }
        if (shape.minItems !== undefined && node.items.length < shape.minItems) {
          this.report(path, `needs at least ${shape.minItems} item${shape.minItems === 1 ? '' : 's'}`, this.pos(node));
        }
        const out: unknown[] = [];
        let ok = true;
        node.items.forEach((item, i) => {
          const v = this.walk(item as YamlNode | null, shape.items, `${path}[${i}]`);
          if (v === undefined) ok = false;
          out.push(v);
        });
        return ok ? out : undefined;
      }
      case 'oneOf': {
        const kind = nodeKind(node);
        const fits = shape.options.filter((o) => shapeKinds(this.resolveShape(o)).includes(kind));
        // scalars: prefer the option of the value's own type (a number where string-or-integer is allowed)
        const valueType = isScalar(node) ? typeof node.value : undefined;
        const option = fits.find((o) => scalarType(this.resolveShape(o)) === valueType) ?? fits[0];
        if (!option) {
          const wanted = shape.options.map((o) => shapeNoun(this.resolveShape(o))).join(' or ');
          this.report(path, `expected ${wanted}, got ${describe(node)}`, this.pos(node));
          return undefined;
        }
        return this.walk(node, option, path);
      }
      case 'json': {
        if (shape.object && !isMap(node)) {
          this.report(path, `expected a mapping, got ${describe(node)}`, this.pos(node));
          return undefined;
        }
        this.indexPositions(node, path);
        return node === null ? null : (node.toJSON() as unknown);
      }
    }
  }

  /** a closed mapping; null values count as absent */
  object(node: YamlNode | null, fields: Record<string, FieldShape>, path: string): Record<string, unknown> | undefined {
    const known = Object.keys(fields);
    const m = this.mapping(node, path, (key, rawValue) => {
      const f = fields[key.name];
      if (!f) {
        this.report(key.sub, `unknown field "${key.name}"${suggestion(key.name, known)}; known: ${known.join(', ')}`, key.pos);
        return undefined;
      }
      const value = this.deref(rawValue);
      if (isScalar(value) && value.value === null) return ABSENT;
      return this.walk(value, f.shape, key.sub);
    });
    if (!m) return undefined;
    const { out, items } = m;
    let ok = m.ok;
    for (const [name, f] of Object.entries(fields)) {
      if (f.required && !(name in out) && !items.some((p) => isScalar(p.key) && p.key.value === name)) {
        this.report(joinPath(path, name), 'required field is missing', this.pos(node));
        ok = false;
      }
    }
    return ok ? out : undefined;
  }

  /**
   * A mapping with string keys (anything else is reported): `each` turns a key's value into the JS value, undefined
   * after reporting, or ABSENT to leave the key out. `ok` is false when anything was reported.
   */
  private mapping(
    node: YamlNode | null,
    path: string,
    each: (key: { name: string; sub: string; pos: Pos }, value: unknown) => unknown,
  ): { out: Record<string, unknown>; ok: boolean; items: ReadonlyArray<{ key: unknown }> } | undefined {
    if (!isMap(node)) {
      this.report(path, `expected a mapping, got ${describe(node)}`, this.pos(node));
      return undefined;
    }
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const pair of node.items) {
      const key = this.stringKey(pair.key, path);
      const v = key ? each(key, pair.value) : undefined;
      if (!key || v === undefined) ok = false;
      else if (v !== ABSENT) out[key.name] = v;
    }
    return { out, ok, items: node.items };
  }

  /** a mapping key that must be a string: its name, field path and position (recorded); undefined after reporting */
  private stringKey(keyNode: unknown, path: string): { name: string; sub: string; pos: Pos } | undefined {
    const key = this.deref(keyNode);
    const pos = this.pos(key);
    if (!isScalar(key) || typeof key.value !== 'string') {
      this.report(path, `keys must be strings, got ${describe(key)}`, pos);
      return undefined;
    }
    const sub = joinPath(path, key.value);
    this.keyPositions.set(sub, pos);
    return { name: key.value, sub, pos };
  }

  resolveShape(s: Shape): Shape {
    return s.t === 'ref' ? this.resolveShape(this.defs[s.name]) : s;
  }

  private indexPositions(node: YamlNode | null, path: string): void {
    this.positions.set(path, this.pos(node));
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = this.deref(pair.key);
        if (!isScalar(key)) continue;
        const sub = joinPath(path, String(key.value));
        this.keyPositions.set(sub, this.pos(key));
        this.indexPositions(this.deref(pair.value), sub);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => this.indexPositions(this.deref(item), `${path}[${i}]`));
    }
  }
}

export function joinPath(path: string, key: string): string {
  const k = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
  return path ? (k.startsWith('"') ? `${path}[${k}]` : `${path}.${k}`) : k;
}

function parentPath(p: string): string {
  const m = /^(.*?)(\.[^.[\]]+|\[[^\]]*\])$/.exec(p);
  return m ? m[1] : '';
}

type NodeKind = 'scalar' | 'mapping' | 'list';

function nodeKind(node: YamlNode | null): NodeKind {
  if (isMap(node)) return 'mapping';
  if (isSeq(node)) return 'list';
  return 'scalar';
}

function shapeKinds(s: Shape): NodeKind[] {
  switch (s.t) {
    case 'object':
    case 'map':
      return ['mapping'];
    case 'array':
      return ['list'];
    case 'json':
      return s.object ? ['mapping'] : ['scalar', 'mapping', 'list'];
    case 'oneOf':
      return s.options.flatMap(shapeKinds);
    case 'string':
    case 'integer':
    case 'boolean':
    case 'ref':
      return ['scalar'];
  }
}

function scalarType(s: Shape): string | undefined {
  return s.t === 'string' ? 'string' : s.t === 'integer' ? 'number' : s.t === 'boolean' ? 'boolean' : undefined;
}

function shapeNoun(s: Shape): string {
  switch (s.t) {
    case 'string':
      return s.enum ? `one of ${s.enum.join(', ')}` : 'a string';
    case 'integer':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'map':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'json':
      return s.object ? 'a mapping' : 'a value';
    case 'oneOf':
      return s.options.map(shapeNoun).join(' or ');
    case 'ref':
      return s.name;
  }
}

// ---- JSON Schema (draft-07) from shapes ----

export type JsonSchema = { [key: string]: JsonSchemaValue };
type JsonSchemaValue = string | number | boolean | null | JsonSchemaValue[] | { [key: string]: JsonSchemaValue };

export function toJsonSchema(s: Shape): JsonSchema {
  const withDesc = (o: JsonSchema): JsonSchema => ('desc' in s && s.desc ? { description: s.desc, ...o } : o);
  switch (s.t) {
    case 'string': {
      const o: JsonSchema = { type: 'string' };
      if (s.enum) o.enum = [...s.enum];
      if (s.pattern) o.pattern = s.pattern;
      if (s.minLength !== undefined) o.minLength = s.minLength;
      return withDesc(o);
    }
    case 'integer': {
      const o: JsonSchema = { type: 'integer' };
      if (s.min !== undefined) o.minimum = s.min;
      if (s.max !== undefined) o.maximum = s.max;
      return withDesc(o);
    }
    case 'boolean':
      return withDesc({ type: 'boolean' });
    case 'object': {
      const properties: Record<string, JsonSchemaValue> = {};
      const required: string[] = [];
      for (const [k, f] of Object.entries(s.fields)) {
        properties[k] = toJsonSchema(f.shape);
        if (f.required) required.push(k);
      }
      const o: JsonSchema = { type: 'object' };
      if (required.length) o.required = required;
      o.additionalProperties = false;
      o.properties = properties;
      return withDesc(o);
    }
    case 'map':
      return withDesc({ type: 'object', additionalProperties: toJsonSchema(s.values) });
    case 'array': {
      const o: JsonSchema = { type: 'array', items: toJsonSchema(s.items) };
      if (s.minItems !== undefined) o.minItems = s.minItems;
      return withDesc(o);
    }
    case 'oneOf':
      return withDesc({ oneOf: s.options.map(toJsonSchema) });
    case 'json':
      return withDesc(s.object ? { type: 'object' } : {});
    case 'ref':
      return { $ref: `#/definitions/${s.name}` };
  }
}
