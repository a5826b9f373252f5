import t from 'tap';
import { BLIP_MS, compareCalls, compareScenario, compareStates, diffMaps, formatScenario, formatTotals, lcsPairs, totals } from './compare.ts';
import type { OperationObservation, ScenarioObservation, StateSequence } from './observe.ts';

const names = { a: 'sim', b: 'qemu' };
const op = (i: number, values: Record<string, string>, title = `op ${i}`): OperationObservation => ({
  key: `0/try/${i}`, stepIndex: 0, stepName: 'step one', phase: 'try', kind: 'sysfs', title, location: { file: 's.yaml', line: 10 + i, column: 11 }, values,
});
const scenario = (operations: OperationObservation[], extra: Partial<ScenarioObservation> = {}): ScenarioObservation => ({
  id: 's.yaml#s', name: 's', file: 's.yaml', status: 'passed', operations, trace: [], states: [], timeline: operations.map((o, i) => ({ key: o.key, startMs: i * 100 })), ...extra,
});

t.test('diffMaps: changed, missing and extra keys, sorted', async (t) => {
  t.same(diffMaps({ b: '1', a: '1', c: 'x' }, { a: '2', b: '1', d: 'y' }), [
    { what: 'a', a: '1', b: '2' },
    { what: 'c', a: 'x', b: '(absent)' },
    { what: 'd', a: '(absent)', b: 'y' },
  ]);
});

t.test('equal observations: no differences', async (t) => {
  const ops = [op(0, { x: '1' }), op(1, { x: '2' })];
  const c = compareScenario(scenario(ops), scenario(ops.map((o) => ({ ...o, values: { ...o.values } }))), names);
  t.equal(c.operationsCompared, 2);
  t.same(c.differences, []);
  t.match(formatScenario(c, names), /^✓ s \(s\.yaml\): 2 operations compared, 0 differences\n$/);
});

t.test('a difference that persists is one difference with its extent; a new value is a new one', async (t) => {
  const a = scenario([op(0, { drv: 'igbvf' }), op(1, { drv: 'igbvf' }), op(2, { drv: 'igbvf' }), op(3, { drv: 'vfio-pci' })]);
  const b = scenario([op(0, { drv: 'igbvf' }), op(1, { drv: 'none' }), op(2, { drv: 'none' }), op(3, { drv: 'none' })]);
  const c = compareScenario(a, b, names);
  t.same(
    c.differences.map((d) => [d.operation?.title, d.what, d.a, d.b, d.repeats, d.until?.title]),
    [
      ['op 1', 'drv', 'igbvf', 'none', 1, 'op 2'],
      ['op 3', 'drv', 'vfio-pci', 'none', 0, undefined],
    ],
  );
  const text = formatScenario(c, names);
  t.match(text, '✗ s › step one › op 1 (s.yaml:11)\n    drv\n      sim:  igbvf\n      qemu: none\n      (unchanged after the next 1 operation, until step one › op 2 (s.yaml:12))\n');
  t.match(text, /✗ s \(s\.yaml\): 4 operations compared, 2 differences\n$/);
});

t.test('a Node resource difference gone after the next operation is a race and not counted', async (t) => {
  const a = scenario([op(0, { 'node1 allocatable intel.com/a': '2' }), op(1, { 'node1 allocatable intel.com/a': '2' }), op(2, { 'node1 capacity intel.com/a': '2' })]);
  const b = scenario([op(0, { 'node1 allocatable intel.com/a': '0' }), op(1, { 'node1 allocatable intel.com/a': '2' }), op(2, { 'node1 capacity intel.com/a': '1' })]);
  const c = compareScenario(a, b, names);
  t.same(c.differences.map((d) => [d.what, !!d.race]), [['node1 allocatable intel.com/a', true], ['node1 capacity intel.com/a', false]], 'still differing at the end counts');
  t.same(totals([c]), { scenarios: 1, compared: 1, skipped: 0, operations: 3, differences: 1, transient: 0, races: 1 });
  t.match(formatScenario(c, names), /1 difference \(\+1 race\)/);
  t.equal(formatTotals([c], names), 'fidelity sim vs qemu: 1 scenario (1 compared, 0 skipped), 3 operations compared, 1 difference (+1 race)\n');
});

t.test('a Node resource one side advertises some operations later is a race once it has caught up; not otherwise', async (t) => {
  const k = 'node1 allocatable intel.com/a';
  const s = 'ListAndWatch node1 a.sock devices';
  const a = scenario([op(0, { [k]: '2', [s]: 'x Healthy', u: '1' }), op(1, { [k]: '2', [s]: 'x Healthy', u: '1' }), op(2, { [k]: '2', [s]: 'x Healthy', u: '1' }), op(3, { [k]: '2', [s]: 'x Healthy', u: '2' })]);
  const b = scenario([op(0, { u: '0' }), op(1, { u: '0' }), op(2, { [k]: '2', [s]: 'x Unhealthy', u: '0' }), op(3, { [k]: '2', [s]: 'x Unhealthy', u: '2' })]);
  const c = compareScenario(a, b, names);
  t.same(
    c.differences.map((d) => [d.what, d.a, d.b, d.repeats, !!d.race]),
    [
      [s, 'x Healthy', '(absent)', 1, false],
      [k, '2', '(absent)', 1, true],
      ['u', '1', '0', 2, false],
      [s, 'x Healthy', 'x Unhealthy', 1, false],
    ],
    'B caught up with A on the resource: a race; the device list ended on another value, and a value that is not a Node resource or a stream, count',
  );
  t.match(formatScenario(c, names), `    ${k}  [race: the sides agreed after 2 operations; not counted]\n`);
  t.same(totals([c]).races, 1);
});

t.test('operations run on one side only; the scenario failing on one side', async (t) => {
  const a = scenario([op(0, { 'operation outcome': 'passed' }), op(1, { 'operation outcome': 'passed' })]);
  const b = scenario([op(0, { 'operation outcome': 'failed: SysfsError EINVAL' })], { status: 'failed' });
  const c = compareScenario(a, b, names);
  t.same(c.differences.map((d) => [d.operation?.title, d.what, d.a, d.b]), [
    ['op 0', 'operation outcome', 'passed', 'failed: SysfsError EINVAL'],
    ['op 1', 'operation', 'ran', 'not run'],
  ]);
  t.same(c.failedOn, ['qemu']);
  t.match(formatScenario(c, names), /2 differences; the scenario failed on qemu/);
});

t.test('skipped on either side: reported with the reason, nothing compared', async (t) => {
  const c = compareScenario(scenario([op(0, {})]), scenario([], { status: 'skipped', skipReason: 'needs vfNetlink' }), names);
  t.same(c.skipped, [{ backend: 'qemu', reason: 'needs vfNetlink' }]);
  t.same(c.differences, []);
  t.equal(formatScenario(c, names), '- s (s.yaml): not compared: qemu cannot run it: needs vfNetlink\n');
  t.same(totals([c]), { scenarios: 1, compared: 0, skipped: 1, operations: 0, differences: 0, transient: 0, races: 0 });
});

t.test('trace differences are reported at the operation running when the event happened', async (t) => {
  const ops = [op(0, {}), op(1, {}), op(2, {})];
  const a = scenario(ops, { trace: [{ what: 'Allocate node1[0] status', value: 'OK', atMs: 150 }, { what: 'CNI ADD default/p net1[0] exit code', value: '0', atMs: 250 }] });
  const b = scenario(ops, { trace: [{ what: 'Allocate node1[0] status', value: 'OK', atMs: 120 }, { what: 'CNI ADD default/p net1[0] exit code', value: '1', atMs: 260 }, { what: 'Allocate node1[1] status', value: 'OK', atMs: 20 }] });
  const c = compareScenario(a, b, names);
  t.same(c.differences.map((d) => [d.operation?.title, d.what, d.a, d.b]), [
    ['op 0', 'Allocate node1[1]', '(absent)', 'OK'],
    ['op 2', 'CNI ADD default/p net1[0] exit code', '0', '1'],
  ]);
  t.same(c.differences.map((d) => !!d.oneSided), [true, false], 'the Allocate only B made is a call on one side only');
  t.match(formatScenario(c, names), '    Allocate node1[1]  [a call on one side only]\n      sim:  (absent)\n      qemu: OK\n');
});

/** one CNI call's trace observations */
const cni = (cmd: string, i: number, atMs: number, fields: Record<string, string>) =>
  Object.entries(fields).map(([k, value]) => ({ what: `CNI ${cmd} default/p net1[${i}] ${k}`, value, atMs }));

t.test('calls are aligned by content: a retried ADD on one side is one difference, and the calls after it still pair up', async (t) => {
  const ok = (i: number, at: number, mac: string) => cni('ADD', i, at, { 'exit code': '0', plugin: 'sriov', 'result.interfaces[0].mac': mac, 'stdin.type': 'sriov' });
  const failed = (i: number, at: number) => cni('ADD', i, at, { 'exit code': '1', plugin: 'sriov', 'result.code': '11', 'result.msg': 'no VF free', 'stdin.type': 'sriov' });
  const ops = [op(0, {}), op(1, {}), op(2, {})];
  // A: fails once, then two good ADDs; B: the same two good ADDs only
  const a = scenario(ops, { trace: [...failed(0, 50), ...ok(1, 150, '<mac:pod/p/net1>'), ...ok(2, 250, '<mac:pod/p/net1#2>')] });
  const b = scenario(ops, { trace: [...ok(0, 160, '<mac:pod/p/net1>'), ...ok(1, 260, '<mac:pod/p/net1#2>')] });
  const c = compareScenario(a, b, names);
  t.same(c.differences.map((d) => [d.operation?.title, d.what, d.a, d.b, !!d.oneSided]), [['op 0', 'CNI ADD default/p net1[0]', 'exit code 1: no VF free', '(absent)', true]], 'by position this would be three calls compared with the wrong partner');

  // a real difference in every call: the calls pair in order and are compared field by field
  const b2 = scenario(ops, { trace: [...ok(0, 160, '<mac#1>'), ...ok(1, 260, '<mac#2>')] });
  const c2 = compareScenario(a, b2, names);
  t.same(
    c2.differences.map((d) => [d.what, d.a, d.b, !!d.oneSided]),
    [
      ['CNI ADD default/p net1[0]', 'exit code 1: no VF free', '(absent)', true],
      ['CNI ADD default/p net1[1] result.interfaces[0].mac', '<mac:pod/p/net1>', '<mac#1>', false],
      ['CNI ADD default/p net1[2] result.interfaces[0].mac', '<mac:pod/p/net1#2>', '<mac#2>', false],
    ],
    'the leftover calls pair by outcome: the failed ADD stays alone, the good ones pair up',
  );
});

t.test('compareCalls: sequences only one side has, and observations that are not calls', async (t) => {
  const d = compareCalls([...cni('DEL', 0, 10, { 'exit code': '0' }), { what: 'loose', value: 'x', atMs: 5 }], [{ what: 'loose', value: 'y', atMs: 7 }]);
  t.same(d, [
    { what: 'CNI DEL default/p net1[0]', a: 'exit code 0', b: '(absent)', atA: 10, oneSided: true },
    { what: 'loose', a: 'x', b: 'y', atA: 5, atB: 7 },
  ]);
});

t.test('the same backend on both sides is labelled A and B', async (t) => {
  const c = compareScenario(scenario([op(0, { x: '1' })]), scenario([op(0, { x: '2' })]), { a: 'sim', b: 'sim' });
  t.match(formatScenario(c, { a: 'sim', b: 'sim' }), '      sim (A): 1\n      sim (B): 2\n');
});

t.test('lcsPairs: the longest common subsequence as index pairs', async (t) => {
  t.same(lcsPairs(['a', 'b', 'c'], ['a', 'x', 'b', 'c']), [[0, 0], [1, 2], [2, 3]]);
  t.same(lcsPairs([], ['a']), []);
  t.same(lcsPairs(['a', 'b'], ['b', 'a']).length, 1);
});

const seq = (what: string, states: Array<[string, string[]]>): StateSequence => ({ what, states: states.map(([value, settledAfter], i) => ({ value, atMs: i * 100 + 50, settledAfter })) });

t.test('states in between are aligned by content: one extra state is one transient difference, the rest pair up', async (t) => {
  // qemu first reports the new VFs Unhealthy (their netdevs come up later); from then on both agree
  const a = seq('ListAndWatch node1 x.sock', [['(none)', ['0/try/0']], ['v0 Healthy, v1 Healthy', ['0/try/1']], ['v0 Healthy', ['0/try/2']], ['(none)', ['0/try/3']]]);
  const b = seq('ListAndWatch node1 x.sock', [['(none)', ['0/try/0']], ['v0 Unhealthy, v1 Unhealthy', []], ['v0 Healthy, v1 Healthy', ['0/try/1']], ['v0 Healthy', ['0/try/2']], ['(none)', ['0/try/3']]]);
  const d = compareStates([a], [b]);
  t.same(d.map((x) => [x.what, x.a?.value, x.b?.value]), [['ListAndWatch node1 x.sock', undefined, 'v0 Unhealthy, v1 Unhealthy']]);
  const ops = [0, 1, 2, 3].map((i) => op(i, {}));
  const c = compareScenario(scenario(ops, { states: [a] }), scenario(ops, { states: [b] }), names);
  t.same(c.differences.map((x) => [x.operation?.title, x.what, x.a, x.b, x.transient]), [['op 1', 'ListAndWatch node1 x.sock devices (in between)', '(absent)', 'v0 Unhealthy, v1 Unhealthy', true]]);
  t.same(totals([c]), { scenarios: 1, compared: 1, skipped: 0, operations: 4, differences: 1, transient: 1, races: 0 }, 'a transient difference counts');
  t.match(formatScenario(c, names), '    ListAndWatch node1 x.sock devices (in between)  [transient: a state in between]\n      sim:  (absent)\n      qemu: v0 Unhealthy, v1 Unhealthy\n');
});

t.test('in-between states that differ on both sides pair up in order; settled states are left to the operations', async (t) => {
  const a = seq('s', [['x', ['k0']], ['p', []], ['q', []], ['y', ['k1']]]);
  const b = seq('s', [['x', ['k0']], ['r', []], ['z', ['k1']]]);
  t.same(compareStates([a], [b]).map((x) => [x.a?.value, x.b?.value]), [['p', 'r'], ['q', undefined]], 'y against z is the operation k1\'s difference');
  t.same(compareStates([seq('s', [['x', []]])], []).map((x) => [x.what, x.a?.value, x.b]), [['s', 'x', undefined]], 'a stream only one side has');
});

t.test('a state one side sent before the other side\'s stream began, and that ended before it began, is a race', async (t) => {
  // sim: the new VFs Unhealthy during the PF's carrier gap, then Healthy; qemu's plugin registered later and sent
  // only the Healthy list. Operation 0 starts at 0 on sim and at 100 on qemu.
  const ops = [op(0, {}), op(1, {})];
  const tl = (start: number) => ops.map((o, i) => ({ key: o.key, startMs: start + i * 10_000 }));
  const sim: StateSequence = { what: 's', states: [{ value: 'v0 Unhealthy', atMs: 300, settledAfter: [] }, { value: 'v0 Healthy', atMs: 1300, settledAfter: ['0/try/0'] }] };
  const late: StateSequence = { what: 's', states: [{ value: 'v0 Healthy', atMs: 100 + 5000, settledAfter: ['0/try/0'] }] };
  const c = compareScenario(scenario(ops, { states: [sim], timeline: tl(0) }), scenario(ops, { states: [late], timeline: tl(100) }), names);
  t.same(c.differences.map((d) => [d.what, d.a, d.b, !!d.transient, !!d.race]), [['s devices (in between)', 'v0 Unhealthy', '(absent)', true, true]]);
  t.match(formatScenario(c, names), "[race: the other side's stream began after it ended; not counted]");
  t.same(totals([c]).differences, 0);

  // qemu's stream began while sim's Unhealthy state still lasted (800 ms into the operation): it could have shown
  // it and did not — a difference
  const early: StateSequence = { what: 's', states: [{ value: 'v0 Healthy', atMs: 100 + 800, settledAfter: ['0/try/0'] }] };
  const c2 = compareScenario(scenario(ops, { states: [sim], timeline: tl(0) }), scenario(ops, { states: [early], timeline: tl(100) }), names);
  t.same(c2.differences.map((d) => [d.what, !!d.transient, !!d.race]), [['s devices (in between)', true, false]]);
  // the same from the other side: qemu's extra state, sim's stream began after it ended
  const c3 = compareScenario(scenario(ops, { states: [late], timeline: tl(100) }), scenario(ops, { states: [sim], timeline: tl(0) }), names);
  t.same(c3.differences.map((d) => [d.a, d.b, !!d.race]), [['(absent)', 'v0 Unhealthy', true]]);
  // not in the leading gap (both streams were up): counted
  const both: StateSequence = { what: 's', states: [{ value: '(none)', atMs: 50, settledAfter: [] }, ...sim.states] };
  const both2: StateSequence = { what: 's', states: [{ value: '(none)', atMs: 150, settledAfter: [] }, ...late.states] };
  const c4 = compareScenario(scenario(ops, { states: [both], timeline: tl(0) }), scenario(ops, { states: [both2], timeline: tl(100) }), names);
  t.same(c4.differences.map((d) => [d.a, !!d.race]), [['v0 Unhealthy', false]], 'a state between two shared states is a difference whatever the timing');
  // the other side's first list differs too (the VF address: a model difference): its stream still began late
  const otherModel: StateSequence = { what: 's', states: [{ value: 'v1 Healthy', atMs: 100 + 5000, settledAfter: ['0/try/0'] }] };
  const c5 = compareScenario(scenario(ops, { states: [sim], timeline: tl(0) }), scenario(ops, { states: [otherModel], timeline: tl(100) }), names);
  t.same(c5.differences.map((d) => [d.a, d.b, !!d.race]), [['v0 Unhealthy', '(absent)', true]], 'the settled lists are the operation\'s to compare');
});

t.test('a blip: one side left a state and came back to it within BLIP_MS, caught by one poll; longer ones count', async (t) => {
  const ops = [op(0, {}), op(1, {})];
  const flat: StateSequence = { what: 'v', states: [{ value: 'nic Healthy', atMs: 100, settledAfter: ['0/try/0', '0/try/1'] }] };
  const blipped = (ms: number): StateSequence => ({
    what: 'v',
    states: [
      { value: 'nic Healthy', atMs: 100, settledAfter: ['0/try/0'] },
      { value: 'nic Unhealthy', atMs: 2000, settledAfter: [] },
      { value: 'nic Healthy', atMs: 2000 + ms, settledAfter: ['0/try/1'] },
    ],
  });
  const c = compareScenario(scenario(ops, { states: [flat] }), scenario(ops, { states: [blipped(359)] }), names);
  t.same(c.differences.map((d) => [d.a, d.b, !!d.race]), [['(absent)', 'nic Unhealthy', true]]);
  t.match(formatScenario(c, names), '[race: a blip of 359 ms between two equal states, caught by one poll; not counted]');
  const long = compareScenario(scenario(ops, { states: [flat] }), scenario(ops, { states: [blipped(BLIP_MS)] }), names);
  t.same(long.differences.map((d) => !!d.race), [false], `${BLIP_MS} ms or more counts`);
  // the state after it is another one: not a blip, whatever its length
  const other = blipped(100);
  other.states[2] = { ...other.states[2], value: 'nic Healthy, vf Healthy' };
  const c3 = compareScenario(scenario(ops, { states: [{ what: 'v', states: [flat.states[0], { ...other.states[2], atMs: 2200 }] }] }), scenario(ops, { states: [other] }), names);
  t.same(c3.differences.map((d) => [d.b, !!d.race]), [['nic Unhealthy', false]]);
});
