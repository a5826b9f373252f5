import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { nicModelNames } from '../nics/catalog.ts';
import { TOPOLOGY_SCHEMA_FILE, topologySchema, topologySchemaJson } from './schema.ts';
import type { JsonSchema } from './schema.ts';
import { metadataKeys, nicKeys, nodeKeys, specKeys, taintKeys, topologyKeys } from './topology.ts';

const root = new URL('../../', import.meta.url);
const examples = ['default.yaml', 'two-nodes-i350.yaml', 'numa-e810.yaml', 'mixed.yaml'];

/** A draft-07 validator for the keywords topologySchema uses; returns "path: problem" strings. */
function validate(schema: JsonSchema, value: unknown, path = '$', top: JsonSchema = schema): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/definitions/', '');
    const target = top.definitions?.[name];
    if (!target) return [`${path}: unresolved $ref ${schema.$ref}`];
    return validate(target, value, path, top);
  }
  const errs: string[] = [];
  const typeOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    const ok = types.some((ty) => ty === actual || (ty === 'number' && actual === 'integer'));
    if (!ok) return [`${path}: expected ${types.join('|')}, got ${actual}`];
  }
  if (schema.const !== undefined && value !== schema.const) errs.push(`${path}: must be ${schema.const}`);
  if (schema.enum && !schema.enum.includes(value as string)) errs.push(`${path}: not in enum`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${path}: does not match ${schema.pattern}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errs.push(`${path}: too long`);
    if (schema.minLength !== undefined && value.length < schema.minLength) errs.push(`${path}: too short`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) errs.push(`${path}: duplicate items`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(schema.items!, v, `${path}[${i}]`, top)));
  } else if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) errs.push(`${path}.${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) errs.push(...validate(sub, v, `${path}.${k}`, top));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k}: not allowed`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...validate(schema.additionalProperties, v, `${path}.${k}`, top));
    }
  }
  return errs;
}

const props = (s: JsonSchema | undefined) => Object.keys(s?.properties ?? {});

t.test('the schema names exactly the fields the validator knows', async (t) => {
  t.same(props(topologySchema), [...topologyKeys]);
  t.same(props(topologySchema.properties?.metadata), [...metadataKeys]);
  t.same(props(topologySchema.properties?.spec), [...specKeys]);
  t.same(props(topologySchema.definitions?.node), [...nodeKeys]);
  t.same(props(topologySchema.definitions?.nic), [...nicKeys]);
  t.same(props(topologySchema.definitions?.taint), [...taintKeys]);
  t.same(topologySchema.definitions?.nic.properties?.model.enum, nicModelNames());
});

t.test('the committed schema file is the generated one', async (t) => {
  const onDisk = readFileSync(new URL(TOPOLOGY_SCHEMA_FILE, root), 'utf8');
  t.equal(onDisk, topologySchemaJson(), `regenerate with: node --import tsx sim/topology/schema.ts --write`);
});

t.test('the example topologies validate against the schema', async (t) => {
  for (const f of examples) {
    const doc = parse(readFileSync(new URL(`scenarios/topologies/${f}`, root), 'utf8')) as unknown;
    t.same(validate(topologySchema, doc), [], f);
  }
});

t.test('the schema rejects what an editor should flag', async (t) => {
  const base = () => ({
    apiVersion: 'sriov-lab.dev/v1alpha1',
    kind: 'Topology',
    metadata: { name: 'x' },
    spec: { nodes: [{ name: 'n', nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0' }] }] },
  });
  const cases: Array<[string, (d: ReturnType<typeof base>) => void, string]> = [
    ['unknown NIC key', (d) => Object.assign(d.spec.nodes[0].nics[0], { numvfs: 1 }), '$.spec.nodes[0].nics[0].numvfs: not allowed'],
    ['unknown model', (d) => { d.spec.nodes[0].nics[0].model = 'intel-x999'; }, '$.spec.nodes[0].nics[0].model: not in enum'],
    ['bad PCI address', (d) => { d.spec.nodes[0].nics[0].pciAddr = '01:00.0'; }, '$.spec.nodes[0].nics[0].pciAddr: does not match'],
    ['device above 1f', (d) => { d.spec.nodes[0].nics[0].pciAddr = '0000:01:20.0'; }, '$.spec.nodes[0].nics[0].pciAddr: does not match'],
    ['wrong kind', (d) => { d.kind = 'Pod'; }, '$.kind: must be Topology'],
    ['multicast MAC', (d) => Object.assign(d.spec.nodes[0].nics[0], { mac: '03:00:00:00:00:01' }), '$.spec.nodes[0].nics[0].mac: does not match'],
    ['missing nics', (d) => { delete (d.spec.nodes[0] as { nics?: unknown }).nics; }, '$.spec.nodes[0].nics: required'],
  ];
  t.same(validate(topologySchema, base()), [], 'the base document is valid');
  for (const [name, mutate, want] of cases) {
    const d = base();
    mutate(d);
    const errs = validate(topologySchema, d);
    t.equal(errs.length, 1, name);
    t.ok(errs[0]?.startsWith(want), `${name}: ${errs[0]}`);
  }
});
