// JSON Schema (draft-07) of scenario files, for editors:
//   # yaml-language-server: $schema=../scenarios/schema/scenario.schema.json
// Generated from the same shapes the validator walks (types.ts), so the two cannot disagree; schema.test.ts checks
// that the committed scenarios/schema/scenario.schema.json is current. Regenerate it with
//   node --import tsx harness/scenario/schema.ts --write
// The schema checks shapes only; the rules across fields (one operation per item, one manifest source, nodes that
// exist, a fault's fields for its kind, placeholders) are the loader's (load.ts).
import { schemaDocument, schemaJson, writeSchemaWhenRun } from '../../sim/shape/json-schema.ts';
import type { JsonSchema } from '../../sim/shape/json-schema.ts';
import { scenarioDefinitions, scenarioShape } from './types.ts';

export const SCENARIO_SCHEMA_FILE = 'scenarios/schema/scenario.schema.json';

export function scenarioSchema(): JsonSchema {
  return schemaDocument(
    {
      $id: 'https://sriov-lab.dev/schemas/scenario-v1alpha1.json',
      title: 'sriov-lab Scenario',
      description: 'A scenario: a cluster, steps of operations and expectations (harness/scenario/README.md).',
    },
    scenarioShape,
    scenarioDefinitions,
  );
}

export function scenarioSchemaJson(): string {
  return schemaJson(scenarioSchema());
}

writeSchemaWhenRun(import.meta.url, SCENARIO_SCHEMA_FILE, scenarioSchemaJson);
