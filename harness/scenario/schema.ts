// JSON Schema (draft-07) of scenario files, for editors:
//   # yaml-language-server: $schema=../scenarios/schema/scenario.schema.json
// Generated from the same shapes the validator walks (types.ts), so the two cannot disagree; schema.test.ts checks
// that the committed scenarios/schema/scenario.schema.json is current. Regenerate it with
//   node --import tsx harness/scenario/schema.ts --write
// The schema checks shapes only; the rules across fields (one operation per item, one manifest source, nodes that
// exist, a fault's fields for its kind, placeholders) are the loader's (load.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { toJsonSchema } from './shape.ts';
import type { JsonSchema } from './shape.ts';
import { scenarioDefinitions, scenarioShape } from './types.ts';

export const SCENARIO_SCHEMA_FILE = 'scenarios/schema/scenario.schema.json';

export function scenarioSchema(): JsonSchema {
  const definitions: Record<string, JsonSchema> = {};
  for (const [name, shape] of Object.entries(scenarioDefinitions)) definitions[name] = toJsonSchema(shape);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://sriov-lab.dev/schemas/scenario-v1alpha1.json',
    title: 'sriov-lab Scenario',
    description: 'A scenario: a cluster, steps of operations and expectations (harness/scenario/README.md).',
    ...toJsonSchema(scenarioShape),
    definitions,
  };
}

export function scenarioSchemaJson(): string {
  return `${JSON.stringify(scenarioSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  const target = new URL(`../../${SCENARIO_SCHEMA_FILE}`, import.meta.url);
  writeFileSync(target, scenarioSchemaJson());
  process.stdout.write(`wrote ${SCENARIO_SCHEMA_FILE}\n`);
}
