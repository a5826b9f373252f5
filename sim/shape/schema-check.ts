// The JSON Schema keywords json-schema.ts writes, checked the way an editor checks them, for the tests: the example
// files must pass their schema, and the schema must flag what an editor should flag. Returns "path: problem" lines.
import type { JsonSchema } from './json-schema.ts';
import type { JsonValue } from './shape.ts';

type Sub = { [key: string]: JsonValue };

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);

function isSchema(v: JsonValue | undefined): v is Sub {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function schemaProblems(schema: JsonSchema, value: unknown, path = '$', top: JsonSchema = schema): string[] {
  if (typeof schema.$ref === 'string') {
    const target = isSchema(top.definitions) ? top.definitions[schema.$ref.replace('#/definitions/', '')] : undefined;
    return isSchema(target) ? schemaProblems(target, value, path, top) : [`${path}: unresolved $ref ${schema.$ref}`];
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = schema.oneOf.filter((s) => isSchema(s) && schemaProblems(s, value, path, top).length === 0).length;
    return passing === 1 ? [] : [`${path}: matches ${passing} of the oneOf alternatives`];
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!types.some((ty) => ty === actual || (ty === 'number' && actual === 'integer'))) return [`${path}: expected ${types.join('|')}, got ${actual}`];
  }
  const errs: string[] = [];
  if (schema.const !== undefined && value !== schema.const) errs.push(`${path}: must be ${String(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value as JsonValue)) errs.push(`${path}: not in enum`);
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${path}: does not match ${schema.pattern}`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) errs.push(`${path}: too long`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) errs.push(`${path}: too short`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${path}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errs.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) errs.push(`${path}: duplicate items`);
    const items = schema.items;
    if (isSchema(items)) value.forEach((v, i) => errs.push(...schemaProblems(items, v, `${path}[${i}]`, top)));
  } else if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    const required = Array.isArray(schema.required) ? schema.required : [];
    for (const r of required) if (typeof r === 'string' && !(r in obj)) errs.push(`${path}.${r}: required`);
    const props = isSchema(schema.properties) ? schema.properties : {};
    const extra = schema.additionalProperties;
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k];
      if (isSchema(sub)) errs.push(...schemaProblems(sub, v, `${path}.${k}`, top));
      else if (extra === false) errs.push(`${path}.${k}: not allowed`);
      else if (isSchema(extra)) errs.push(...schemaProblems(extra, v, `${path}.${k}`, top));
    }
  }
  return errs;
}
