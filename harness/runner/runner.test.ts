import t from 'tap';
import type { Reporter } from '../../reports/reporter.ts';
import { firstError, type TraceEvent } from '../../reports/types.ts';
import type { KubeObject } from '../backend.ts';
import { parseScenario } from '../scenario/load.ts';
import type { Scenario } from '../scenario/types.ts';
import { fakeBackend, fakeClock, type FakeClusterTable } from './fixtures/fake-cluster.ts';
import { globToRegExp } from './glob.ts';
import { reproduceCommand, runScenarios } from './runner.ts';
import { scenarioSeed } from './seed.ts';
import { splitCommandLine, joinCommandLine } from './shell-words.ts';

const head = (name: string) => `apiVersion: sriov-lab.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n`;
const scenario = (name: string, body: string): Scenario => parseScenario(head(name) + body, `scenarios/${name}.yaml`, { dir: '/tmp' });
const pod = (name: string, phase: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, status: { phase } });

function setup(table: FakeClusterTable = {}) {
  const clock = fakeClock();
  const backend = fakeBackend(table, clock);
  return { clock, backend };
}

t.test('try, catch and finally run in order; collectors only on failure; later steps are skipped', async (t) => {
  const s = scenario('order', `  steps:
    - name: first
      try:
        - apply: { resource: { apiVersion: v1, kind: Pod, metadata: { name: a } } }
      catch:
        - collect: { what: [logs] }
      finally:
        - kubelet: restart
    - name: second
      try:
        - devicePlugin: kill
        - sysfs: { path: /sys/x, value: "5" }
        - nodeReboot: node1
      catch:
        - collect: { what: [logs, events] }
        - events: {}
      finally:
        - devicePlugin: restart
    - name: third
      try:
        - sleep: 1
  catch:
    - collect: { what: [checkpoint] }
`);
  const { clock, backend } = setup({ sysfs: { 'node1:/sys/x': '4\n' } });
  const run = await runScenarios([s], { backend, seed: 1, clock });
  t.same(backend.calls.slice(1), [
    'apply pod/a',
    'kubelet restart node1',
    'devicePlugin kill node1',
    'sysfsRead node1 /sys/x',
    'collect node1 logs,events',
    'events',
    'collect node1 checkpoint',
    'devicePlugin restart node1',
    'down',
  ]);
  const r = run.scenarios[0];
  t.equal(r.status, 'failed');
  t.same(r.steps.map((st) => st.status), ['passed', 'failed', 'skipped']);
  t.same(r.steps[1].operations.map((o) => `${o.phase} ${o.kind} ${o.status}`), [
    'try devicePlugin passed',
    'try sysfs failed',
    'catch collect passed',
    'catch events passed',
    'catch collect passed',
    'finally devicePlugin passed',
  ]);
  t.same(r.attachments.map((a) => `${a.step}: ${a.name}`), ['second: node1-logs.txt', 'second: node1-events.txt', 'second: events.yaml', 'second: node1-checkpoint.txt']);
  const first = firstError(r);
  t.equal(first?.step?.name, 'second');
  t.match(first?.error, {
    name: 'ExpectationError',
    message: '/sys/x is "4", expected "5"',
    expected: '5\n',
    actual: '4\n',
    location: { file: 'scenarios/order.yaml', line: 17, column: 11 },
  });
  t.equal(run.run.interrupted, undefined);
});

t.test('a scenario whose requirement the backend lacks is skipped with the reason, without up', async (t) => {
  const s = scenario('needs-vfio', `  requires: [vfio]\n  steps: [{ name: a, try: [{ sleep: 1 }] }]\n`);
  const { clock, backend } = setup({ lacks: { vfio: 'vfio-pci is not loaded (modprobe vfio-pci)' } });
  const run = await runScenarios([s], { backend, seed: 1, clock });
  t.match(run.scenarios[0], { status: 'skipped', skipReason: 'vfio-pci is not loaded (modprobe vfio-pci)', steps: [] });
  t.same(backend.calls, []);
  const unavailable = setup({ unavailable: 'no FUSE' });
  const r2 = await runScenarios([s], { backend: unavailable.backend, seed: 1, clock: unavailable.clock });
  t.match(r2.scenarios[0], { status: 'skipped', skipReason: 'backend sim is not available here: no FUSE' });
});

t.test('assert waits for the object, then passes; or times out with WaitTimeoutError fields and a diff', async (t) => {
  const s = (timeoutMs: number) => scenario('wait', `  steps:
    - name: pod runs
      try:
        - assert:
            timeoutMs: ${timeoutMs}
            resource:
              kind: Pod
              metadata: { name: a }
              status: { phase: Running }
`);
  const table: FakeClusterTable = { objects: [pod('a', 'Pending')], timeline: [{ afterMs: 300, apply: [pod('a', 'Running')] }] };
  {
    const { clock, backend } = setup(table);
    const run = await runScenarios([s(1000)], { backend, seed: 1, clock });
    t.equal(run.scenarios[0].status, 'passed');
    t.equal(run.scenarios[0].steps[0].operations[0].durationMs, 300, 'passed as soon as the pod was Running (100ms polls)');
  }
  {
    const { clock, backend } = setup(table);
    const run = await runScenarios([s(200)], { backend, seed: 1, clock });
    const op = run.scenarios[0].steps[0].operations[0];
    t.equal(op.status, 'failed');
    t.equal(op.durationMs, 200);
    t.same(op.error, {
      name: 'WaitTimeoutError',
      message: 'assert pod/a: not satisfied after 200ms: status.phase: expected "Running", got "Pending"',
      expected: 'kind: Pod\nmetadata:\n  name: a\nstatus:\n  phase: Running\n',
      actual: 'kind: Pod\nmetadata:\n  name: a\nstatus:\n  phase: Pending\n',
      diff: '--- expected\n+++ actual\n@@ -2,4 +2,4 @@\n metadata:\n   name: a\n status:\n-  phase: Running\n+  phase: Pending\n',
      location: { file: 'scenarios/wait.yaml', line: 9, column: 11 },
      fields: {
        waitingFor: 'assert pod/a',
        timeoutMs: 200,
        lastObserved: 'kind: Pod\nmetadata:\n  name: a\nstatus:\n  phase: Pending\n',
        mismatches: ['status.phase: expected "Running", got "Pending"'],
      },
    });
  }
  {
    const { clock, backend } = setup({});
    const run = await runScenarios([s(0)], { backend, seed: 1, clock });
    t.match(run.scenarios[0].steps[0].operations[0].error, { name: 'WaitTimeoutError', message: 'assert pod/a: not satisfied after 0ms: Pod a does not exist' });
  }
});

t.test('error: passes when nothing matches, fails while something does', async (t) => {
  const s = scenario('err', `  steps:
    - name: no failed pods
      try:
        - error: { timeoutMs: 300, resource: { kind: Pod, status: { phase: Failed } } }
`);
  {
    const { clock, backend } = setup({ objects: [pod('a', 'Running')] });
    t.equal((await runScenarios([s], { backend, seed: 1, clock })).scenarios[0].status, 'passed');
  }
  {
    const { clock, backend } = setup({ objects: [pod('a', 'Running'), pod('b', 'Failed')] });
    const r = (await runScenarios([s], { backend, seed: 1, clock })).scenarios[0];
    t.equal(r.status, 'failed');
    t.match(r.steps[0].operations[0].error, { name: 'ExpectationError', message: 'Pod b still matches what must not match after 300ms', actual: /phase: Failed/ });
  }
  {
    const { clock, backend } = setup({ objects: [pod('b', 'Failed')], timeline: [{ afterMs: 200, delete: [{ kind: 'Pod', name: 'b' }] }] });
    const r = (await runScenarios([s], { backend, seed: 1, clock })).scenarios[0];
    t.equal(r.status, 'passed', 'waits for the object to stop matching');
    t.equal(r.steps[0].operations[0].durationMs, 200);
  }
});

t.test('exec, ip, sysfs errno via a fault, and script', async (t) => {
  const s = scenario('ops', `  steps:
    - name: ops
      try:
        - exec: { pod: a, command: [ip, link], stdout: { contains: net1, notContains: eth9 } }
        - ip: { args: link show ens1f0, stdout: { matches: "state (UP|DOWN)" } }
        - fault: { kind: sysfsFailWrites, path: /sys/n, errno: EIO }
        - sysfs: { path: /sys/n, write: 3, errno: EIO }
        - sysfs: { path: /sys/n, write: 3, value: ">= 3" }
        - script: { command: 'test "$SRIOV_LAB_SCENARIO" = ops && echo "$SRIOV_LAB_BACKEND $X"', env: { X: "y" }, stdout: { equals: "sim y" } }
        - exec: { pod: a, command: "exit 3", stderr: boom }
`);
  const { clock, backend } = setup({
    exec: [
      { pod: 'a', argv: ['ip', 'link'], result: { stdout: '1: lo\n2: eth0\n3: net1\n' } },
      { node: 'node1', argv: ['ip', 'link', 'show', 'ens1f0'], result: { stdout: '4: ens1f0: <UP> state UP\n' } },
      { pod: 'a', argv: ['sh', '-c', 'exit 3'], result: { exitCode: 3, stderr: 'bang\n' } },
    ],
  });
  const r = (await runScenarios([s], { backend, seed: 1, clock })).scenarios[0];
  t.same(r.steps[0].operations.map((o) => o.status), ['passed', 'passed', 'passed', 'passed', 'passed', 'passed', 'failed']);
  t.match(r.steps[0].operations[6].error, {
    name: 'ExecError',
    message: 'sh -c exit 3: exit code 3, expected 0; stderr does not contain "boom"',
    fields: { command: ['sh', '-c', 'exit 3'], exitCode: 3, stderr: 'bang\n' },
  });
  t.ok(backend.calls.includes('sysfsWrite node1 /sys/n 3'));
});

t.test('traces are rebased to the scenario start; the same seed gives the same trace apart from timestamps', async (t) => {
  const s = scenario('det', `  steps:
    - name: pods
      try:
        - apply: { resources: [{ apiVersion: v1, kind: Pod, metadata: { name: a } }, { apiVersion: v1, kind: Pod, metadata: { name: b } }] }
        - sleep: 50
        - kubelet: restart
`);
  const traceOf = async (seed: number, skew: number) => {
    const { clock, backend } = setup();
    clock.t += skew;
    const run = await runScenarios([s], { backend, seed, clock });
    return { trace: run.scenarios[0].trace, upSeed: backend.ups[0].seed };
  };
  const strip = (tr: TraceEvent[]) => tr.map(({ atMs: _atMs, ...rest }) => rest);
  const a = await traceOf(7, 0);
  const b = await traceOf(7, 123_456);
  t.ok(a.trace.every((e) => e.atMs >= 0 && e.atMs < 1000), 'ms since the scenario started');
  t.ok(a.trace.some((e) => e.kind === 'grpc') && a.trace.some((e) => e.kind === 'log' && e.source === 'harness'));
  t.same(strip(a.trace), strip(b.trace), 'same seed, same trace');
  t.equal(a.upSeed, scenarioSeed(7, 'scenarios/det.yaml#det'));
  const c = await traceOf(8, 0);
  t.not(JSON.stringify(strip(c.trace)), JSON.stringify(strip(a.trace)), 'another seed, other choices');
  t.not(c.upSeed, a.upSeed);
});

t.test('--filter selects by name, id or file; the per-scenario seed does not depend on the selection', async (t) => {
  const list = ['net-a', 'net-b', 'restart-x'].map((n) => scenario(n, `  steps: [{ name: s, try: [{ sleep: 1 }] }]\n`));
  const { clock, backend } = setup();
  const seen: string[] = [];
  const reporter: Reporter = { name: 'spy', onRunBegin: (_m, plan) => void seen.push(...plan.map((p) => p.name)) };
  const run = await runScenarios(list, { backend, seed: 5, clock, filter: ['net-*'], reporter });
  t.same(run.scenarios.map((r) => r.name), ['net-a', 'net-b']);
  t.same(seen, ['net-a', 'net-b']);
  const alone = setup();
  await runScenarios(list, { backend: alone.backend, seed: 5, clock: alone.clock, filter: ['scenarios/net-b.yaml'] });
  t.equal(alone.backend.ups[0].seed, backend.ups[1].seed, 'net-b gets the same seed alone as in the run');
  t.match(run.run.reproduceCommand, /--filter 'net-\*'$/);
  t.ok(globToRegExp('scenarios/**/*.yaml').test('scenarios/a/b/c.yaml'));
  t.notOk(globToRegExp('scenarios/*.yaml').test('scenarios/a/c.yaml'));
  t.ok(globToRegExp('net-[ab]').test('net-a'));
});

t.test('the reproduce command re-runs one scenario with the run seed, backend and plugins', async (t) => {
  const s = scenario('repro', `  steps: [{ name: s, try: [{ sleep: 1 }] }]\n`);
  const { clock, backend } = setup();
  const run = await runScenarios([s], { backend, seed: 42, clock, devicePlugin: ['/opt/sriovdp', '--config-file', '/etc/my config.json'], cni: '/opt/cni/bin/sriov' });
  const cmd = run.scenarios[0].reproduceCommand;
  t.equal(cmd, "sriov-lab run scenarios/repro.yaml --seed 42 --backend sim --device-plugin '/opt/sriovdp --config-file '\\''/etc/my config.json'\\''' --cni /opt/cni/bin/sriov");
  t.equal(cmd, reproduceCommand('scenarios/repro.yaml', { seed: 42, backend, devicePlugin: ['/opt/sriovdp', '--config-file', '/etc/my config.json'], cni: '/opt/cni/bin/sriov' }));
  // the command line parses back to the same device plugin argv
  const argv = splitCommandLine(cmd);
  t.same(splitCommandLine(argv[argv.indexOf('--device-plugin') + 1]), ['/opt/sriovdp', '--config-file', '/etc/my config.json']);
  t.same(backend.ups[0].devicePlugin, { argv: ['/opt/sriovdp', '--config-file', '/etc/my config.json'] });
  t.same(backend.ups[0].cni, { path: '/opt/cni/bin/sriov' });
  t.match(run.run.plugins, [{ role: 'device-plugin', bundled: false, path: '/opt/sriovdp' }, { role: 'cni', bundled: false, path: '/opt/cni/bin/sriov' }]);
  t.equal(joinCommandLine(['a b', "it's", 'plain']), `'a b' 'it'\\''s' plain`);
});

t.test('the scenario device plugin config and topology reach up', async (t) => {
  const s = scenario('cfg', `  devicePlugin: { config: { resourceList: [{ resourceName: x }] } }
  nodes: [{ name: w1, nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", numVfs: 2 }] }]
  steps: [{ name: s, try: [{ sleep: 1 }] }]
`);
  const { clock, backend } = setup();
  const run = await runScenarios([s], { backend, seed: 3, clock });
  t.same(backend.ups[0].devicePlugin, { config: { resourceList: [{ resourceName: 'x' }] } });
  t.same(backend.ups[0].topology.nodes.map((n) => n.name), ['w1']);
  t.same(run.scenarios[0].nodes, ['w1']);
  t.match(run.run.nics, [{ model: 'Intel I350 Gigabit', vendorDevice: '8086:1521', simulated: true }]);
});

t.test('up failing fails the scenario with the backend error', async (t) => {
  const s = scenario('noup', `  steps: [{ name: s, try: [{ sleep: 1 }] }]\n`);
  const { clock, backend } = setup({ upError: 'FUSE mount failed: EPERM' });
  const r = (await runScenarios([s], { backend, seed: 3, clock })).scenarios[0];
  t.match(r, { status: 'failed', steps: [], error: { name: 'Error', message: 'backend sim could not start the cluster: FUSE mount failed: EPERM' } });
});

t.test('interruption stops the current scenario, runs its finally and down, skips the rest, marks the run', async (t) => {
  const first = scenario('long', `  steps:
    - name: wait
      try:
        - kubelet: restart
        - assert: { timeoutMs: 60000, resource: { kind: Pod, metadata: { name: never } } }
        - devicePlugin: kill
      catch:
        - collect: {}
      finally:
        - delete: { kind: Pod, name: a }
    - name: after
      try: [{ sleep: 1 }]
`);
  const second = scenario('later', `  steps: [{ name: s, try: [{ sleep: 1 }] }]\n`);
  const controller = new AbortController();
  const { clock, backend } = setup({ hooks: { 'kubelet restart node1': () => setTimeout(() => controller.abort(), 0) } });
  // the fake clock never blocks, so let the abort land during the assert's polling
  const slowClock = { now: clock.now, sleep: async (ms: number, signal?: AbortSignal) => { await new Promise((r) => setTimeout(r, 1)); await clock.sleep(ms, signal); } };
  const hooks: string[] = [];
  const reporter: Reporter = {
    name: 'spy',
    onScenarioBegin: (s) => void hooks.push(`begin ${s.name}`),
    onScenarioEnd: (s) => void hooks.push(`end ${s.name} ${s.status}`),
    onRunEnd: (r) => void hooks.push(`run end interrupted=${r.run.interrupted}`),
  };
  const run = await runScenarios([first, second], { backend, seed: 1, clock: slowClock, signal: controller.signal, reporter });
  t.same(backend.calls.slice(1), ['kubelet restart node1', 'delete pod/a', 'down'], 'no catch, but finally and down');
  const r = run.scenarios[0];
  t.equal(r.status, 'failed');
  t.same(r.steps.map((s) => s.status), ['failed', 'skipped']);
  t.match(r.steps[0].operations[1], { kind: 'assert', status: 'failed', error: { name: 'InterruptedError' } });
  t.match(run.scenarios[1], { status: 'skipped', skipReason: 'not run: the run was interrupted' });
  t.equal(run.run.interrupted, true);
  t.same(hooks, ['begin long', 'end long failed', 'begin later', 'end later skipped', 'run end interrupted=true']);
});

t.test('reporter hooks come in the documented order', async (t) => {
  const s = scenario('hooks', `  steps: [{ name: one, try: [{ sleep: 1 }] }, { name: two, try: [{ sleep: 1 }] }]\n`);
  const { clock, backend } = setup();
  const order: string[] = [];
  const reporter: Reporter = {
    name: 'spy',
    onRunBegin: () => void order.push('run'),
    onScenarioBegin: () => void order.push('scenario'),
    onStepBegin: (_s, st) => void order.push(`step ${st.index} ${st.name}`),
    onStepEnd: (_s, st) => void order.push(`end ${st.index} ${st.status}`),
    onScenarioEnd: () => void order.push('scenario end'),
    onRunEnd: () => void order.push('run end'),
  };
  const run = await runScenarios([s], { backend, seed: 1, clock, reporter });
  t.same(order, ['run', 'scenario', 'step 0 one', 'end 0 passed', 'step 1 two', 'end 1 passed', 'scenario end', 'run end']);
  t.same(run.scenarios[0].steps.map((st) => [st.startMs, st.durationMs]), [[0, 1], [1, 1]], 'timing per step');
  t.equal(run.run.backend, 'sim');
  t.equal(run.run.seed, 1);
});

t.test('--jobs: scenarios overlap, yet hooks, progress and results come in file order and match a serial run', async (t) => {
  // real timers: the long scenario ends last, the short ones first
  const timerClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const list = [
    scenario('slow', `  steps: [{ name: a, try: [{ sleep: 120 }] }, { name: b, try: [{ sleep: 1 }] }]\n`),
    scenario('quick', `  steps: [{ name: a, try: [{ sleep: 1 }] }]\n`),
    scenario('middle', `  steps: [{ name: a, try: [{ sleep: 40 }] }, { name: b, try: [{ sleep: 1 }] }]\n`),
    scenario('fourth', `  steps: [{ name: a, try: [{ sleep: 1 }] }]\n`),
  ];
  const runWith = async (jobs: number) => {
    const backend = fakeBackend({}, timerClock);
    let live = 0;
    let peak = 0;
    const upInner = backend.up.bind(backend);
    backend.up = async (o) => {
      live++;
      peak = Math.max(peak, live);
      o.progress?.(`booting for seed ${o.seed}`);
      const h = await upInner(o);
      const down = h.down.bind(h);
      return Object.assign(h, { down: async () => { live--; await down(); } });
    };
    const events: string[] = [];
    const reporter: Reporter = {
      name: 'spy',
      onScenarioBegin: (s) => void events.push(`begin ${s.name}`),
      onStepBegin: (s, st) => void events.push(`step ${s.name} ${st.name}`),
      onStepEnd: (s, st) => void events.push(`step end ${s.name} ${st.name} ${st.status}`),
      onScenarioEnd: (s) => void events.push(`end ${s.name} ${s.status}`),
    };
    const run = await runScenarios(list, { backend, seed: 9, clock: timerClock, reporter, jobs, progress: (l) => events.push(`progress ${l}`) });
    return { run, events, peak };
  };
  const serial = await runWith(1);
  const parallel = await runWith(3);
  t.equal(serial.peak, 1, 'one cluster at a time with --jobs 1');
  t.equal(parallel.peak, 3, 'three clusters up at once with --jobs 3');
  t.same(parallel.events, serial.events, 'the same hooks and progress lines in the same (file) order');
  t.same(parallel.events.filter((e) => e.startsWith('begin')), ['begin slow', 'begin quick', 'begin middle', 'begin fourth']);
  const strip = (r: typeof serial.run) => r.scenarios.map((s) => ({ id: s.id, status: s.status, steps: s.steps.map((st) => [st.name, st.status]), seed: s.trace.find((e) => e.kind === 'log')?.message }));
  t.same(strip(parallel.run), strip(serial.run), 'results (statuses, steps, per-scenario seeds) as in a serial run');
});

t.test('--jobs is capped by the backend', async (t) => {
  const timerClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
  const backend = Object.assign(fakeBackend({}, timerClock), { maxJobs: 1 });
  let live = 0;
  let peak = 0;
  const upInner = backend.up.bind(backend);
  backend.up = async (o) => {
    peak = Math.max(peak, ++live);
    const h = await upInner(o);
    const down = h.down.bind(h);
    return Object.assign(h, { down: async () => { live--; await down(); } });
  };
  const list = ['a', 'b', 'c'].map((n) => scenario(n, `  steps: [{ name: s, try: [{ sleep: 5 }] }]\n`));
  const run = await runScenarios(list, { backend, seed: 1, clock: timerClock, jobs: 4 });
  t.equal(peak, 1);
  t.same(run.scenarios.map((s) => s.status), ['passed', 'passed', 'passed']);
});

t.test('an assert wakes on the cluster\'s change signal, not on its interval', async (t) => {
  const timerClock = { now: () => Date.now(), sleep: (ms: number, signal?: AbortSignal) => new Promise<void>((r) => { const tm = setTimeout(r, ms); signal?.addEventListener('abort', () => { clearTimeout(tm); r(); }, { once: true }); }) };
  const s = scenario('wake', `  steps:
    - name: s
      try:
        - assert: { resource: { apiVersion: v1, kind: Pod, metadata: { name: a }, status: { phase: Running } }, timeoutMs: 20000, intervalMs: 60000 }
`);
  const running = pod('a', 'Running');
  const backend = fakeBackend({ objects: [pod('a', 'Pending')], timeline: [{ afterMs: 50, apply: [running] }] }, timerClock);
  const upInner = backend.up.bind(backend);
  let waits = 0;
  backend.up = async (o) => {
    const h = await upInner(o);
    // the object changes at 50 ms; the signal says so at 60 ms
    const changedAt = Date.now() + 60;
    return Object.assign(h, { nextChange: () => { waits++; return new Promise<void>((r) => setTimeout(r, Math.max(0, changedAt - Date.now()))); } });
  };
  const t0 = Date.now();
  const run = await runScenarios([s], { backend, seed: 1, clock: timerClock });
  const took = Date.now() - t0;
  t.equal(run.scenarios[0].status, 'passed');
  t.ok(waits >= 1, 'the assert asked for the change signal');
  t.ok(took < 10_000, `passed at the change (${took} ms), not after the 60 s interval`);
});
