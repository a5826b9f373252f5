// Checks a parsed YAML document against a Shape (shape.ts): every problem becomes an issue at the file:line:column
// of its YAML node, and the position of every field path visited is kept, so a loader's own rules across fields can
// point at the right line too. A `Dialect` says how field paths are written and how problems are worded: ours
// (`spec.nodes[0].nics[1].model: "x" is not one of …`) or the apiserver's for manifests (`Required value`).
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { NO_POS, deref, describeNode, nodePos, quoteShort, suggestion } from '../yaml-issues.ts';
import type { Pos, YamlIssue } from '../yaml-issues.ts';
import type { FieldShape, Shape, StringShape } from './shape.ts';

export interface Dialect {
  /** the path of `key` under `path`; `inMap` for the keys of a map (labels), false for an object's fields */
  join(path: string, key: string, inMap: boolean): string;
  /** a problem with a value points at the value itself, or at its field's key (the line the apiserver names) */
  at: 'value' | 'key';
  /** a required field that is absent (or null) */
  required: string;
  /** a value of the wrong type; `noun` is what was expected ("a string", "a mapping") */
  wrongType(noun: string, node: YamlNode | null): string;
  /** a string that is not one of `allowed` */
  notOneOf(value: string, allowed: readonly string[]): string;
  /** what a mapping is called in messages */
  mapping: string;
}

/** `a.b`, `a[0]`, and `a["x/y"]` for a key that is not a plain name */
export function joinPath(path: string, key: string): string {
  const k = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
  return path ? (k.startsWith('"') ? `${path}[${k}]` : `${path}.${k}`) : k;
}

/** the project's own wording: `expected a string, got number 7 (quote it: "7")`, did-you-mean for enum values */
export const yamlDialect: Dialect = {
  join: (path, key) => joinPath(path, key),
  at: 'value',
  required: 'required field is missing',
  wrongType: (noun, node) => {
    // numbers and booleans are accepted where a string is expected only when quoted; say so
    const quote = noun === 'a string' && isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean');
    return `expected ${noun}, got ${describeNode(node)}${quote ? ` (quote it: "${String(node.value)}")` : ''}`;
  },
  notOneOf: (value, allowed) => `${quoteShort(value)} is not one of ${allowed.join(', ')}${suggestion(value, allowed)}`,
  mapping: 'a mapping',
};

/** a mapping value that counts as not given */
function isNull(node: YamlNode | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

export interface WalkerOptions {
  /** the shapes `{t: 'ref'}` names */
  defs?: Record<string, Shape>;
  dialect?: Dialect;
}

/** walks a YAML document; collects issues and the position of every field path it visits */
export class Walker {
  readonly issues: YamlIssue[] = [];
  /** where the value at a path starts */
  readonly positions = new Map<string, Pos>();
  /** where the key of a mapping field starts */
  readonly keyPositions = new Map<string, Pos>();
  readonly defs: Record<string, Shape>;
  readonly dialect: Dialect;
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lc: LineCounter | null,
    opts: WalkerOptions = {},
  ) {
    this.defs = opts.defs ?? {};
    this.dialect = opts.dialect ?? yamlDialect;
  }

  pos(node: YamlNode | null | undefined): Pos {
    return nodePos(this.lc, node);
  }

  /** the position of a path (its key when it is a mapping field), else of its nearest parent */
  at(path: string): Pos {
    for (let p = path; ; ) {
      const hit = this.keyPositions.get(p) ?? this.positions.get(p);
      if (hit) return hit;
      if (p === '') return NO_POS;
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

  /** how many issues concern `path` or a field below it */
  issuesUnder(path: string): number {
    return this.issues.filter((i) => i.field === path || i.field.startsWith(`${path}.`) || i.field.startsWith(`${path}[`)).length;
  }

  deref(node: unknown): YamlNode | null {
    return deref(this.doc, node);
  }

  resolveShape(s: Shape): Shape {
    if (s.t !== 'ref') return s;
    const target = this.defs[s.name];
    if (!target) throw new Error(`shape definition "${s.name}" is missing`);
    return this.resolveShape(target);
  }

  /**
   * Checks `node` against `shape` and returns its JS value with every invalid part left out (undefined after
   * reporting a problem with the node itself). Whether anything was wrong is in `issues`.
   */
  walk(node: YamlNode | null, shape: Shape, path: string): unknown {
    node = this.deref(node);
    this.positions.set(path, this.pos(node));
    const s = this.resolveShape(shape);
    switch (s.t) {
      case 'string':
        return this.string(node, s, path);
      case 'integer': {
        if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) return this.fail(path, node, this.dialect.wrongType('an integer', node));
        const v = node.value;
        if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)) {
          return this.fail(path, node, `${v} is out of range ${s.min ?? '-∞'}..${s.max ?? '∞'}`);
        }
        return v;
      }
      case 'boolean':
        if (!isScalar(node) || typeof node.value !== 'boolean') return this.fail(path, node, this.dialect.wrongType('true or false', node));
        return node.value;
      case 'object':
        return this.object(node, s.fields, s.open === true, path);
      case 'map':
        return this.map(node, s.values, s.keyCheck, path);
      case 'array': {
        if (!isSeq(node)) return this.fail(path, node, this.dialect.wrongType('a list', node));
        if (s.minItems !== undefined && node.items.length < s.minItems) {
          this.report(path, s.tooFew ?? `needs at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`, this.where(path, node));
        }
        const out = node.items.map((item, i) => this.walk(item as YamlNode | null, s.items, `${path}[${i}]`));
        if (s.uniqueItems) this.repeats(node, out, path);
        return out;
      }
      case 'oneOf': {
        const kind = nodeKind(node);
        const fits = s.options.filter((o) => shapeKinds(this.resolveShape(o)).includes(kind));
        // scalars: prefer the option of the value's own type (a number where string-or-integer is allowed)
        const valueType = isScalar(node) ? typeof node.value : undefined;
        const option = fits.find((o) => scalarType(this.resolveShape(o)) === valueType) ?? fits[0];
        if (!option) return this.fail(path, node, this.dialect.wrongType(s.options.map((o) => this.noun(o)).join(' or '), node));
        return this.walk(node, option, path);
      }
      case 'json':
        if (s.object && !isMap(node)) return this.fail(path, node, this.dialect.wrongType(this.dialect.mapping, node));
        return this.json(node, path);
      case 'ref':
        throw new Error('unreachable: refs are resolved');
    }
  }

  private string(node: YamlNode | null, s: StringShape, path: string): string | undefined {
    let v: string;
    if (isScalar(node) && typeof node.value === 'string') v = node.value;
    else if (s.numbers && isScalar(node) && typeof node.value === 'number') v = String(node.value);
    else if (s.nullAs !== undefined && isNull(node)) v = s.nullAs;
    else return this.fail(path, node, this.dialect.wrongType(s.noun ?? 'a string', node));
    const problem = s.check?.(v) ?? this.stringProblem(v, s);
    return problem === undefined ? v : this.fail(path, node, problem);
  }

  private stringProblem(v: string, s: StringShape): string | undefined {
    if (s.enum && !s.enum.includes(v)) return this.dialect.notOneOf(v, s.enum);
    if (s.const !== undefined && v !== s.const) return `${quoteShort(v)} is not ${s.const}`;
    if (s.minLength !== undefined && v.length < s.minLength) return s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`;
    if (s.maxLength !== undefined && v.length > s.maxLength) return `${quoteShort(v)} is longer than ${s.maxLength} characters`;
    if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) return `${quoteShort(v)} does not match ${s.pattern}`;
    return undefined;
  }

  /** a mapping of known fields; null values count as absent, so a required one given as null is missing */
  private object(node: YamlNode | null, fields: Record<string, FieldShape>, open: boolean, path: string): Record<string, unknown> | undefined {
    if (!isMap(node)) return this.fail(path, node, this.dialect.wrongType(this.dialect.mapping, node));
    const known = Object.keys(fields);
    const out: Record<string, unknown> = {};
    const given = new Set<string>();
    for (const pair of node.items) {
      const key = this.deref(pair.key);
      const name = isScalar(key) && typeof key.value === 'string' ? key.value : undefined;
      const field = name !== undefined && Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (!field && open) {
        // a field nobody checks: kept as it is, its positions recorded for later messages
        if (name === undefined) continue;
        const sub = this.dialect.join(path, name, false);
        this.keyPositions.set(sub, this.pos(key));
        out[name] = this.json(this.deref(pair.value), sub);
        continue;
      }
      if (name === undefined) {
        this.report(path, `keys must be strings, got ${describeNode(key)}`, this.pos(key));
        continue;
      }
      const sub = this.dialect.join(path, name, false);
      this.keyPositions.set(sub, this.pos(key));
      if (!field) {
        this.report(sub, `unknown field "${name}"${suggestion(name, known)}; known: ${known.join(', ')}`, this.pos(key));
        continue;
      }
      const value = this.deref(pair.value);
      if (isNull(value)) continue;
      given.add(name);
      const v = this.walk(value, field.shape, sub);
      if (v !== undefined) out[name] = v;
    }
    for (const [name, f] of Object.entries(fields)) {
      if (!f.required || given.has(name)) continue;
      const sub = this.dialect.join(path, name, false);
      this.report(sub, this.dialect.required, this.where(sub, node));
    }
    return out;
  }

  /** a mapping with values of one shape */
  private map(node: YamlNode | null, values: Shape, keyCheck: ((k: string) => string | undefined) | undefined, path: string): Record<string, unknown> | undefined {
    if (!isMap(node)) return this.fail(path, node, this.dialect.wrongType(this.dialect.mapping, node));
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = this.deref(pair.key);
      const at = this.pos(key);
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.report(path, `keys must be strings, got ${describeNode(key)}`, at);
        continue;
      }
      const sub = this.dialect.join(path, key.value, true);
      this.keyPositions.set(sub, at);
      const keyProblem = keyCheck?.(key.value);
      if (keyProblem !== undefined) this.report(sub, keyProblem, at);
      const v = this.walk(pair.value as YamlNode | null, values, sub);
      if (v !== undefined && keyProblem === undefined) out[key.value] = v;
    }
    return out;
  }

  /** every item equal to an earlier one is reported */
  private repeats(node: YamlNode, values: unknown[], path: string): void {
    const seen = new Set<string>();
    values.forEach((v, i) => {
      if (v === undefined) return;
      const text = JSON.stringify(v);
      if (!seen.has(text)) {
        seen.add(text);
        return;
      }
      const sub = `${path}[${i}]`;
      this.report(sub, `${text} is listed twice`, this.where(sub, this.deref(isSeq(node) ? node.items[i] : null)));
    });
  }

  /** any JSON value; the positions of everything inside are recorded */
  private json(node: YamlNode | null, path: string): unknown {
    this.indexPositions(node, path);
    return node === null ? null : (node.toJSON() as unknown);
  }

  private indexPositions(node: YamlNode | null, path: string): void {
    this.positions.set(path, this.pos(node));
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = this.deref(pair.key);
        if (!isScalar(key)) continue;
        const sub = this.dialect.join(path, String(key.value), false);
        this.keyPositions.set(sub, this.pos(key));
        this.indexPositions(this.deref(pair.value), sub);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => this.indexPositions(this.deref(item), `${path}[${i}]`));
    }
  }

  private where(path: string, node: YamlNode | null): Pos {
    return this.dialect.at === 'key' ? this.at(path) : this.pos(node);
  }

  private fail(path: string, node: YamlNode | null, message: string): undefined {
    this.report(path, message, this.where(path, node));
    return undefined;
  }

  private noun(shape: Shape): string {
    const s = this.resolveShape(shape);
    switch (s.t) {
      case 'string':
        return s.noun ?? (s.enum ? `one of ${s.enum.join(', ')}` : 'a string');
      case 'integer':
        return 'an integer';
      case 'boolean':
        return 'true or false';
      case 'object':
      case 'map':
        return this.dialect.mapping;
      case 'array':
        return 'a list';
      case 'json':
        return s.object ? this.dialect.mapping : 'a value';
      case 'oneOf':
        return s.options.map((o) => this.noun(o)).join(' or ');
      case 'ref':
        return s.name;
    }
  }
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
