import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { schemaProblems } from '../../sim/shape/schema-check.ts';
import type { JsonSchema } from '../../sim/shape/json-schema.ts';
import { SCENARIO_SCHEMA_FILE, scenarioSchema, scenarioSchemaJson } from './schema.ts';
import { operationKinds } from './types.ts';

const root = new URL('../../', import.meta.url);
const fixtures = new URL('./fixtures/', import.meta.url);

type S = JsonSchema;
const validate = (schema: S, value: unknown, top: S): string[] => schemaProblems(schema, value, '$', top);

t.test('the committed schema file is the generated one', async (t) => {
  const onDisk = readFileSync(new URL(SCENARIO_SCHEMA_FILE, root), 'utf8');
  t.equal(onDisk, scenarioSchemaJson(), 'regenerate with: node --import tsx harness/scenario/schema.ts --write');
});

t.test('the schema knows every operation', async (t) => {
  const s = scenarioSchema() as unknown as { definitions: { operation: { properties: Record<string, unknown> } } };
  t.same(Object.keys(s.definitions.operation.properties), ['title', ...operationKinds]);
});

t.test('the example scenarios validate against the schema and point at it', async (t) => {
  const schema = scenarioSchema();
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 3);
  for (const f of files) {
    const text = readFileSync(new URL(f, fixtures), 'utf8');
    t.match(text.split('\n')[0], /^# yaml-language-server: \$schema=\.\.\/\.\.\/\.\.\/scenarios\/schema\/scenario\.schema\.json$/, `${f}: first line`);
    t.same(validate(schema, parse(text), schema), [], f);
  }
});

t.test('the schema flags what an editor should flag', async (t) => {
  const schema = scenarioSchema();
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
