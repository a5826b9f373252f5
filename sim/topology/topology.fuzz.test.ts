// Fuzzing topology files: mutations of a valid two-node topology, broken YAML, binary bytes, deep nesting, alias
// bombs and random text. parseTopology either returns a topology or throws a TopologyError whose every issue names
// the file, a line of it and the field; it never throws anything else and never hangs.
// 600 cases take about 10 s on a loaded 2-core machine; FUZZ_RUNS raises the count (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { TopologyError, parseTopology } from './topology.ts';
import { fuzzParams, issueProblem, yamlInputs } from '../fuzz.ts';

const valid = parse(readFileSync(new URL('../../scenarios/topologies/two-nodes-i350.yaml', import.meta.url), 'utf8')) as Parameters<typeof yamlInputs>[0];
const FILE = 'topo.yaml';
/** far above any real parse; a case that takes this long is stuck */
const HANG_MS = 10_000;

t.test('a mutated, broken or random topology file is a TopologyError naming file, line and field', async (t) => {
  let errors = 0;
  fc.assert(
    fc.property(yamlInputs(valid), (text) => {
      const t0 = Date.now();
      try {
        parseTopology(text, FILE);
      } catch (e) {
        if (!(e instanceof TopologyError)) throw new Error(`not a TopologyError: ${(e as Error).stack ?? String(e)}`);
        const problem = issueProblem(e.issues, FILE, text);
        if (problem) throw new Error(problem);
        errors++;
      }
      const ms = Date.now() - t0;
      if (ms > HANG_MS) throw new Error(`took ${ms}ms`);
    }),
    fuzzParams(600),
  );
  t.ok(errors > 0, `${errors} inputs were rejected with a TopologyError`);
});
