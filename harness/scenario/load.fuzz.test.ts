// Fuzzing scenario files: mutations of library scenarios (an inline topology, a topology file, manifest files,
// faults, every kind of operation), broken YAML, binary bytes, deep nesting, alias bombs and random text.
// parseScenario either returns a scenario or throws a ScenarioValidationError whose every issue names a file (the
// scenario, or the topology or manifest file it refers to), a line of that file and the field; nothing else is
// thrown and nothing hangs.
// 500 cases take about 15 s on a loaded 2-core machine; FUZZ_RUNS raises the count (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';
import { ScenarioValidationError, parseScenario } from './load.ts';
import { fuzzParams, issueProblem, yamlInputs } from '../../sim/fuzz.ts';

const root = new URL('../../', import.meta.url).pathname;
const HANG_MS = 10_000;
const SOURCES = ['harness/scenario/fixtures/vf-pod.yaml', 'harness/scenario/fixtures/kubelet-restart.yaml', 'scenarios/scheduling/two-nodes.yaml', 'scenarios/health/vf-link-down.yaml', 'scenarios/bugs/vf-without-driver.yaml'];

/** the files a scenario of `dir` may refer to, by the name its issues give them, with their text */
function referenced(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ['manifests/nad-and-pod.yaml', 'manifests/four-pods.yaml', '../topologies/two-nodes-i350.yaml']) {
    const full = join(dir, f);
    try {
      out[relative(process.cwd(), full) || full] = readFileSync(full, 'utf8');
    } catch {
      // not beside this scenario
    }
  }
  return out;
}

const cases = SOURCES.map((f) => {
  const full = join(root, f);
  return { file: f, dir: dirname(full), valid: parse(readFileSync(full, 'utf8')) as Parameters<typeof yamlInputs>[0], others: referenced(dirname(full)) };
});

t.test('the scenarios the fuzzer starts from are valid', async (t) => {
  for (const c of cases) t.doesNotThrow(() => parseScenario(readFileSync(join(root, c.file), 'utf8'), c.file, { dir: c.dir }), c.file);
});

t.test('a mutated, broken or random scenario file is a ScenarioValidationError naming file, line and field', async (t) => {
  let errors = 0;
  fc.assert(
    fc.property(fc.nat({ max: cases.length - 1 }).chain((i) => yamlInputs(cases[i].valid).map((text) => ({ c: cases[i], text }))), ({ c, text }) => {
      const t0 = Date.now();
      try {
        parseScenario(text, c.file, { dir: c.dir });
      } catch (e) {
        if (!(e instanceof ScenarioValidationError)) throw new Error(`not a ScenarioValidationError: ${(e as Error).stack ?? String(e)}`);
        const problem = issueProblem(e.issues, c.file, text, c.others);
        if (problem) throw new Error(problem);
        errors++;
      }
      const ms = Date.now() - t0;
      if (ms > HANG_MS) throw new Error(`took ${ms}ms`);
    }),
    fuzzParams(500),
  );
  t.ok(errors > 0, `${errors} inputs were rejected with a ScenarioValidationError`);
});
