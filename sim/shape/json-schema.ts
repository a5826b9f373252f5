// JSON Schema (draft-07) from shapes, for editors (`# yaml-language-server: $schema=…`). The schema checks shapes
// only: a `check`, `keyCheck` or `tooFew` message and every rule across fields stay the walker's and the loaders'.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../paths.ts';
import type { JsonValue, Shape } from './shape.ts';

export type JsonSchema = { [key: string]: JsonValue };

export function toJsonSchema(s: Shape): JsonSchema {
  const annotate = (o: JsonSchema): JsonSchema => {
    if (s.t === 'ref') return o;
    const out: JsonSchema = s.desc ? { description: s.desc, ...o } : o;
    if (s.default !== undefined) out.default = s.default;
    return out;
  };
  switch (s.t) {
    case 'string': {
      const o: JsonSchema = { type: s.numbers ? ['string', 'number'] : 'string' };
      if (s.const !== undefined) o.const = s.const;
      if (s.enum) o.enum = [...s.enum];
      if (s.pattern) o.pattern = s.pattern;
      if (s.minLength !== undefined) o.minLength = s.minLength;
      if (s.maxLength !== undefined) o.maxLength = s.maxLength;
      return annotate(o);
    }
    case 'integer': {
      const o: JsonSchema = { type: 'integer' };
      if (s.min !== undefined) o.minimum = s.min;
      if (s.max !== undefined) o.maximum = s.max;
      return annotate(o);
    }
    case 'boolean':
      return annotate({ type: 'boolean' });
    case 'object': {
      const properties: Record<string, JsonValue> = {};
      const required: string[] = [];
      for (const [k, f] of Object.entries(s.fields)) {
        properties[k] = toJsonSchema(f.shape);
        if (f.required) required.push(k);
      }
      const o: JsonSchema = { type: 'object' };
      if (required.length) o.required = required;
      if (!s.open) o.additionalProperties = false;
      o.properties = properties;
      return annotate(o);
    }
    case 'map':
      return annotate({ type: 'object', additionalProperties: toJsonSchema(s.values) });
    case 'array': {
      const o: JsonSchema = { type: 'array', items: toJsonSchema(s.items) };
      if (s.minItems !== undefined) o.minItems = s.minItems;
      if (s.uniqueItems) o.uniqueItems = true;
      return annotate(o);
    }
    case 'oneOf':
      return annotate({ oneOf: s.options.map(toJsonSchema) });
    case 'json':
      return annotate(s.object ? { type: 'object' } : {});
    case 'ref':
      return { $ref: `#/definitions/${s.name}` };
  }
}

export interface SchemaHeader {
  $id: string;
  title: string;
  description: string;
}

/** a whole schema file: the root shape, and the shapes its refs name under `definitions` */
export function schemaDocument(header: SchemaHeader, root: Shape, defs: Record<string, Shape>): JsonSchema {
  const definitions: Record<string, JsonSchema> = {};
  for (const [name, shape] of Object.entries(defs)) definitions[name] = toJsonSchema(shape);
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...header, ...toJsonSchema(root), definitions };
}

/** the text of a schema file as committed: two-space indent, a final newline */
export function schemaJson(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * When the module at `moduleUrl` is run as `node --import tsx <module> --write`, writes the committed schema file
 * (`file`, relative to the project root). Only from sources: in a bundle every module has the bundle's URL, so
 * `sriov-lab … --write` must not match.
 */
export function writeSchemaWhenRun(moduleUrl: string, file: string, json: () => string): void {
  if (!moduleUrl.endsWith('.ts') || fileURLToPath(moduleUrl) !== process.argv[1] || !process.argv.includes('--write')) return;
  writeFileSync(join(projectRoot(), file), json());
  process.stdout.write(`wrote ${file}\n`);
}
