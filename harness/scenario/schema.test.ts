import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { SCENARIO_SCHEMA_FILE, scenarioSchema, scenarioSchemaJson } from './schema.ts';
import { operationKinds } from './types.ts';

const root = new URL('../../', import.meta.url);
const fixtures = new URL('./fixtures/', import.meta.url);

type S = { [k: string]: unknown };

/** the draft-07 keywords scenarioSchema uses; returns "path: problem" strings */
function validate(schema: S, value: unknown, top: S, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = (top.definitions as Record<string, S>)[schema.$ref.replace('#/definitions/', '')];
    return target ? validate(target, value, top, path) : [`${path}: unresolved ${schema.$ref}`];
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = (schema.oneOf as S[]).filter((s) => validate(s, value, top, path).length === 0).length;
    return passing === 1 ? [] : [`${path}: matches ${passing} of the oneOf alternatives`];
  }
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  if (schema.type && schema.type !== typeOf(value) && !(schema.type === 'number' && typeOf(value) === 'integer')) {
    return [`${path}: expected ${String(schema.type)}, got ${typeOf(value)}`];
  }
  const errs: string[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errs.push(`${path}: not in enum`);
  if (typeof value === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${path}: does not match`);
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${path}: below minimum`);
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errs.push(`${path}: too few items`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items as S, v, top, `${path}[${i}]`)));
  } else if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of (schema.required as string[] | undefined) ?? []) if (!(r in obj)) errs.push(`${path}.${r}: required`);
    const props = (schema.properties ?? {}) as Record<string, S>;
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errs.push(...validate(props[k], v, top, `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k}: not allowed`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') errs.push(...validate(schema.additionalProperties as S, v, top, `${path}.${k}`));
    }
  }
  return errs;
}

t.test('the committed schema file is the generated one', async (t) => {
  const onDisk = readFileSync(new URL(SCENARIO_SCHEMA_FILE, root), 'utf8');
  t.equal(onDisk, scenarioSchemaJson(), 'regenerate with: node --import tsx harness/scenario/schema.ts --write');
});

t.test('the schema knows every operation', async (t) => {
  const s = scenarioSchema() as unknown as { definitions: { operation: { properties: Record<string, unknown> } } };
  t.same(Object.keys(s.definitions.operation.properties), ['title', ...operationKinds]);
});

t.test('the example scenarios validate against the schema and point at it', async (t) => {
  const schema = scenarioSchema() as unknown as S;
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 3);
  for (const f of files) {
    const text = readFileSync(new URL(f, fixtures), 'utf8');
    t.match(text.split('\n')[0], /^# yaml-language-server: \$schema=\.\.\/\.\.\/\.\.\/scenarios\/schema\/scenario\.schema\.json$/, `${f}: first line`);
    t.same(validate(schema, parse(text), schema), [], f);
  }
});

t.test('the schema flags what an editor should flag', async (t) => {
  const schema = scenarioSchema() as unknown as S;
  const base = () => ({
    apiVersion: 'sriov-lab.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: 'x' },
    spec: { steps: [{ name: 'a', try: [{ kubelet: 'restart' } as Record<string, unknown>] }] },
  });
  t.same(validate(schema, base(), schema), []);
  const cases: Array<[string, (d: ReturnType<typeof base>) => void, string]> = [
    ['unknown operation', (d) => { d.spec.steps[0].try[0] = { aply: {} }; }, '$.spec.steps[0].try[0].aply: not allowed'],
    ['bad action', (d) => { d.spec.steps[0].try[0] = { kubelet: 'reboot' }; }, '$.spec.steps[0].try[0].kubelet: matches 0 of the oneOf alternatives'],
    ['unknown spec key', (d) => Object.assign(d.spec, { stepz: [] }), '$.spec.stepz: not allowed'],
    ['wrong kind', (d) => { d.kind = 'Topology'; }, '$.kind: not in enum'],
  ];
  for (const [name, mutate, want] of cases) {
    const d = base();
    mutate(d);
    t.same(validate(schema, d, schema), [want], name);
  }
});
