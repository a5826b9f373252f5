// The runner's afterOperation hook (harness/runner/runner.ts), which fidelity relies on.
import t from 'tap';
import { parseScenario } from '../scenario/load.ts';
import { fakeBackend, fakeClock } from '../runner/fixtures/fake-cluster.ts';
import { runScenarios, type AfterOperationContext } from '../runner/runner.ts';

const s = parseScenario(
  `apiVersion: sriov-lab.dev/v1alpha1
kind: Scenario
metadata: { name: hooked }
spec:
  steps:
    - name: first
      try:
        - kubelet: restart
        - sysfs: { path: /sys/x, value: "5", timeoutMs: 0 }
        - devicePlugin: kill
      catch:
        - collect: { what: [logs] }
      finally:
        - nodeReboot: node1
    - name: second
      try:
        - kubelet: restart
`,
  'scenarios/hooked.yaml',
  { dir: '/tmp' },
);

t.test('called after every operation that ran, with its step, phase, index, result and the cluster', async (t) => {
  const clock = fakeClock();
  const backend = fakeBackend({ sysfs: { 'node1:/sys/x': '4\n' } }, clock);
  const seen: string[] = [];
  const run = await runScenarios([s], {
    backend, seed: 1, clock,
    afterOperation: async (ctx: AfterOperationContext) => {
      seen.push(`${ctx.scenarioId} ${ctx.stepIndex}:${ctx.stepName} ${ctx.phase}#${ctx.operationIndex} ${ctx.operation.kind} ${ctx.result.status} nodes=${ctx.handle.nodes.join(',')}`);
      // the cluster is up: the hook can use it
      await ctx.handle.sysfsRead('node1', '/sys/x');
    },
  });
  t.same(seen, [
    'scenarios/hooked.yaml#hooked 0:first try#0 kubelet passed nodes=node1',
    'scenarios/hooked.yaml#hooked 0:first try#1 sysfs failed nodes=node1',
    'scenarios/hooked.yaml#hooked 0:first catch#0 collect passed nodes=node1',
    'scenarios/hooked.yaml#hooked 0:first finally#0 nodeReboot passed nodes=node1',
  ], 'the failed step skips the rest; catch and finally are included; the skipped step has no operations');
  t.equal(run.scenarios[0].status, 'failed');
  const downAt = backend.calls.indexOf('down');
  t.ok(backend.calls.lastIndexOf('sysfsRead node1 /sys/x') < downAt, 'the hook ran before down');
});

t.test('a failing hook is logged and does not change the run', async (t) => {
  const clock = fakeClock();
  const ok = s.steps[1];
  const one = { ...s, steps: [ok] };
  const run = await runScenarios([one], { backend: fakeBackend({}, clock), seed: 1, clock, afterOperation: async () => { throw new Error('boom'); } });
  t.equal(run.scenarios[0].status, 'passed');
  t.ok(run.scenarios[0].trace.some((e) => e.kind === 'log' && e.level === 'error' && e.message.includes('afterOperation hook failed after') && e.message.includes('boom')));
});

t.test('fidelity with jobs: scenarios compared at once, each on A then B, delivered in file order', async (t) => {
  const { fidelity } = await import('./command.ts');
  const timerClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const mk = (name: string, ms: number) =>
    parseScenario(`apiVersion: sriov-lab.dev/v1alpha1\nkind: Scenario\nmetadata: { name: ${name} }\nspec:\n  steps:\n    - name: s\n      try:\n        - sleep: ${ms}\n`, `scenarios/${name}.yaml`, { dir: '/tmp' });
  const list = [mk('slow', 150), mk('quick', 1), mk('middle', 40)];
  const track = () => {
    const b = fakeBackend({}, timerClock);
    const up = b.up.bind(b);
    const seen = { live: 0, peak: 0, order: [] as string[] };
    b.up = async (o) => {
      seen.peak = Math.max(seen.peak, ++seen.live);
      const h = await up(o);
      const down = h.down.bind(h);
      return Object.assign(h, { down: async () => { seen.live--; await down(); } });
    };
    return { b, seen };
  };
  const run = async (jobs: number) => {
    const a = track();
    const b = track();
    const delivered: string[] = [];
    const r = await fidelity(list, { a: a.b, b: b.b, seed: 1, clock: timerClock, jobs, quiet: { quietMs: 5 }, onScenario: (c) => delivered.push(c.name) });
    return { r, delivered, peakA: a.seen.peak, peakB: b.seen.peak };
  };
  const one = await run(1);
  const two = await run(2);
  t.equal(one.peakA, 1);
  t.equal(two.peakA, 2, 'two scenarios up on A at once');
  t.same(two.delivered, ['slow', 'quick', 'middle'], 'onScenario in file order');
  t.same(two.r.comparisons.map((c) => c.name), one.r.comparisons.map((c) => c.name));
  t.same(two.r.totals, one.r.totals, 'the same totals as one at a time');
});
