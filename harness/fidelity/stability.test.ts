// fidelity's own output is stable: the small fixtures, sim against sim with injected timing jitter (--jitter), three
// runs with different seeds: no difference in any run, and the same (empty) set each time.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { simBackend } from '../backends/sim.ts';
import { createBackendRegistry } from '../runner/registry.ts';
import { counted } from './compare.ts';
import { fidelityCommand, type FidelityResult } from './command.ts';

const fixtures = ['harness/fidelity/fixtures/small.yaml', 'harness/fidelity/fixtures/pod.yaml'];
const available = await simBackend.available();

async function run(seed: number): Promise<{ code: number; out: string; err: string; json: FidelityResult }> {
  const registry = createBackendRegistry();
  registry.register(simBackend);
  const dir = mkdtempSync(join(tmpdir(), 'sl-fid-stab-'));
  let out = '';
  let err = '';
  try {
    const code = await fidelityCommand([...fixtures, '--a', 'sim', '--b', 'sim', '--seed', String(seed), '--jitter', '400', '--json', join(dir, 'f.json')], {
      registry,
      cwd: projectRoot(),
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      signal: new AbortController().signal,
    });
    return { code, out, err, json: JSON.parse(readFileSync(join(dir, 'f.json'), 'utf8')) as FidelityResult };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('sim vs sim with timing jitter, three seeds: no difference, the same set every run', { skip: available.ok ? false : `the sim backend cannot run here: ${available.reason}`, timeout: 900_000 }, async (t) => {
  const sets: string[][] = [];
  for (const seed of [101, 202, 303]) {
    const r = await run(seed);
    t.comment(r.out);
    t.equal(r.json.jitterMs, 400, 'the jitter was injected');
    t.equal(r.json.comparisons.length, 2);
    const ran = r.json.comparisons.every((c) => !c.skipped && !c.failedOn && c.operationsCompared > 0);
    t.ok(ran, ran ? 'both fixtures ran, passed and were compared' : `a fixture did not run or failed: ${r.err.slice(-3000)}`);
    const set = r.json.comparisons.flatMap((c) => counted(c).map((d) => `${c.name} › ${d.operation?.title ?? ''} › ${d.what}: ${d.a} | ${d.b}`)).sort();
    t.same(set, [], `seed ${seed}: no difference`);
    t.equal(r.code, 0, `seed ${seed}: exit 0`);
    sets.push(set);
  }
  t.same(sets[1], sets[0], 'runs 1 and 2 give the same difference set');
  t.same(sets[2], sets[0], 'runs 1 and 3 give the same difference set');
});
