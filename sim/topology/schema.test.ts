import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { nicModelNames } from '../nics/catalog.ts';
import { schemaProblems as validate } from '../shape/schema-check.ts';
import type { Shape } from '../shape/shape.ts';
import { TOPOLOGY_SCHEMA_FILE, topologySchema, topologySchemaJson } from './schema.ts';
import type { JsonSchema } from './schema.ts';
import type { JsonValue } from '../shape/shape.ts';
import { topologyDefinitions, topologyShape } from './topology.ts';

const root = new URL('../../', import.meta.url);
const examples = ['default.yaml', 'two-nodes-i350.yaml', 'numa-e810.yaml', 'mixed.yaml'];

const props = (s: JsonValue | undefined) => Object.keys((s as JsonSchema | undefined)?.properties ?? {});
/** the fields the validator knows: the keys of an object shape, or of one of its fields' shapes */
const keys = (s: Shape | undefined, field?: string): string[] => {
  if (s?.t !== 'object') return [];
  return field === undefined ? Object.keys(s.fields) : keys(s.fields[field]?.shape);
};
const definitions = topologySchema.definitions as { [name: string]: JsonSchema };

t.test('the schema names exactly the fields the validator knows', async (t) => {
  const properties = topologySchema.properties as JsonSchema;
  t.same(props(topologySchema), keys(topologyShape));
  t.same(props(properties.metadata), keys(topologyShape, 'metadata'));
  t.same(props(properties.spec), keys(topologyShape, 'spec'));
  t.same(props(definitions.node), keys(topologyDefinitions.node));
  t.same(props(definitions.nic), keys(topologyDefinitions.nic));
  t.same(props(definitions.taint), keys(topologyDefinitions.taint));
  t.same(((definitions.nic.properties as JsonSchema).model as JsonSchema).enum, nicModelNames());
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
