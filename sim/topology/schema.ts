// JSON Schema (draft-07) of topology files, for editors:
//   # yaml-language-server: $schema=../../scenarios/topologies/topology.schema.json
// Generated from the shapes the validator walks (topology.ts); schema.test.ts checks that the committed
// scenarios/topologies/topology.schema.json is current. Regenerate the file with
//   node --import tsx sim/topology/schema.ts --write
// The schema checks shapes only; cross-field rules (numVfs ≤ totalVfs, VF address collisions, duplicates) are the
// validator's.
import { schemaDocument, schemaJson, writeSchemaWhenRun } from '../shape/json-schema.ts';
import type { JsonSchema } from '../shape/json-schema.ts';
import { topologyDefinitions, topologyShape } from './topology.ts';

export type { JsonSchema } from '../shape/json-schema.ts';

export const TOPOLOGY_SCHEMA_FILE = 'scenarios/topologies/topology.schema.json';

export const topologySchema: JsonSchema = schemaDocument(
  {
    $id: 'https://sriov-lab.dev/schemas/topology-v1alpha1.json',
    title: 'sriov-lab Topology',
    description: 'Simulated nodes and their NICs (sim/topology/topology.ts).',
  },
  topologyShape,
  topologyDefinitions,
);

export function topologySchemaJson(): string {
  return schemaJson(topologySchema);
}

writeSchemaWhenRun(import.meta.url, TOPOLOGY_SCHEMA_FILE, topologySchemaJson);
