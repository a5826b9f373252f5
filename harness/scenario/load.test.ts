import t from 'tap';
import { join } from 'node:path';
import { ScenarioValidationError, defineScenario, findScenarioFiles, loadScenario, parseScenario } from './load.ts';
import type { Operation } from './types.ts';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const head = 'apiVersion: sriov-lab.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: x\nspec:\n';

function errors(text: string, file = 's.yaml', dir = '/nonexistent'): string[] {
  try {
    parseScenario(text, file, { dir });
  } catch (e) {
    if (e instanceof ScenarioValidationError) return e.lines();
    throw e;
  }
  return [];
}

t.test('the example scenarios load into resolved, typed objects', async (t) => {
  const s = loadScenario(join(fixtures, 'vf-pod.yaml'));
  t.equal(s.name, 'vf-pod');
  t.same(s.tags, ['smoke', 'sriov']);
  t.same(s.topology.nodes.map((n) => n.name), ['node1']);
  t.same(s.requires, [{ kind: 'root' }, { kind: 'nodes', count: 1 }, { kind: 'vfsPerPf', count: 4 }]);
  t.same(s.resources, ['intel.com/sriov_net_a'], 'resources are read from the manifests');
  t.same(s.devicePlugin.config, { resourceList: [{ resourceName: 'sriov_net_a', selectors: { vendors: ['8086'], devices: ['1520'] } }] });
  t.equal(s.steps.length, 2);
  const [apply, assert, exec, sysfs] = s.steps[1].try;
  t.match(apply, { kind: 'apply', title: 'apply networkattachmentdefinition/sriov-a, pod/pod-a', location: { line: 35, column: 11 } });
  t.equal((apply as Extract<Operation, { kind: 'apply' }>).objects.length, 2, 'both documents of the manifest file');
  t.match(assert, { kind: 'assert', timeoutMs: 10000, intervalMs: 100 });
  t.match(exec, { kind: 'exec', target: { pod: 'pod-a', namespace: 'default' }, argv: ['ip', '-d', 'link', 'show', 'net1'], timeoutMs: 30000 });
  t.same((exec as Extract<Operation, { kind: 'exec' }>).expect, {
    exitCode: 0,
    stdout: { equals: undefined, contains: ['net1'], notContains: [], matches: 'link/ether ([0-9a-f]{2}:){5}[0-9a-f]{2}' },
    stderr: undefined,
  });
  t.match(sysfs, { kind: 'sysfs', node: 'node1', value: '4', write: undefined }, 'a single-node topology fills in the node');
  t.same(s.steps[1].catch.map((o) => o.kind), ['collect', 'events']);
  t.same(s.steps[1].finally.map((o) => o.title), ['delete pod/pod-a']);

  const k = loadScenario(join(fixtures, 'kubelet-restart.yaml'));
  t.same(k.topology.nodes.map((n) => n.name), ['node1', 'node2'], 'topology file resolved relative to the scenario');
  t.equal(k.timeouts.assertMs, 3000);
  t.match(k.steps[0].try[2], { kind: 'assert', timeoutMs: 3000 }, 'spec.timeouts applies to asserts without their own');
  t.match(k.steps[0].try[0], { kind: 'kubelet', action: 'restart', nodes: ['node2'] });
  t.match(k.steps[0].try[1], { kind: 'advanceClock', ms: 30000 });
  t.match(k.steps[1].try[0], { kind: 'fault', node: 'node2', fault: { kind: 'sysfsFailWrites', errno: 'EIO' } });
  t.notOk('node' in (k.steps[1].try[0] as Extract<Operation, { kind: 'fault' }>).fault, 'the node is not part of the Fault');
  t.match(k.steps[1].try[1], { kind: 'sysfs', write: '0', errno: 'EIO' });
  t.match(k.steps[1].try[2], { kind: 'ip', argv: ['ip', 'link', 'show', 'ens1f0'], expect: { stdout: { contains: ['ens1f0'] } } });
  t.match(k.steps[1].finally[0], { kind: 'script', command: 'echo "$SRIOV_LAB_SCENARIO on $SRIOV_LAB_BACKEND"' });
  t.match(k.catch[0], { kind: 'collect', nodes: ['node1', 'node2'], what: ['logs', 'events', 'sysfs', 'checkpoint', 'podResources'] });
  t.same(k.requires, [{ kind: 'root' }, { kind: 'command', name: 'ip' }, { kind: 'nodes', count: 2 }, { kind: 'vfsPerPf', count: 4 }, { kind: 'fault', fault: 'sysfsFailWrites' }], 'a fault operation requires a backend that injects it');
});

t.test('a fault a real kernel cannot produce skips the scenario there, with the reason', async (t) => {
  const { qemuBackend } = await import('../backends/qemu.ts');
  const { hostBackend } = await import('../backends/host.ts');
  const { simBackend } = await import('../backends/sim.ts');
  for (const b of [qemuBackend, hostBackend]) {
    t.match(b.provides({ kind: 'fault', fault: 'vfAttrFail' }), { ok: false, reason: /fault vfAttrFail needs the simulated NIC/ }, b.name);
    t.same(b.provides({ kind: 'fault', fault: 'pfLink' }), { ok: true }, `${b.name} flaps a real PF link`);
  }
  t.same(simBackend.provides({ kind: 'fault', fault: 'vfAttrFail' }), { ok: true });
  t.match(qemuBackend.provides({ kind: 'fault', fault: 'vfLink' }), { ok: false, reason: /fault vfLink: igb \(82576\), the SR-IOV NIC QEMU emulates, has no VF link state/ });
  t.same(hostBackend.provides({ kind: 'fault', fault: 'vfLink' }), { ok: true }, 'a host NIC may have VF link state (ice, i40e, mlx5)');
});

t.test('the most VFs a topology starts one PF with is a requirement; QEMU\'s igb has 7', async (t) => {
  const { qemuBackend } = await import('../backends/qemu.ts');
  const { simBackend } = await import('../backends/sim.ts');
  const numa = loadScenario(join(fixtures, '../../../scenarios/scheduling/numa.yaml'));
  t.match(numa.requires, [{ kind: 'root' }, { kind: 'fuse' }, { kind: 'nodes', count: 1 }, { kind: 'vfsPerPf', count: 8 }]);
  t.match(qemuBackend.provides({ kind: 'vfsPerPf', count: 8 }), { ok: false, reason: "the topology starts a PF with 8 VFs; QEMU's igb (82576), which every SR-IOV NIC of a topology becomes in the guest, has 7" });
  t.same(qemuBackend.provides({ kind: 'vfsPerPf', count: 7 }), { ok: true });
  t.same(simBackend.provides({ kind: 'vfsPerPf', count: 64 }), { ok: true });
});

t.test('shorthands', async (t) => {
  const s = parseScenario(`${head}  steps:
    - name: a
      try:
        - kubelet: restart
        - devicePlugin: deleteSocket
        - nodeReboot: node1
        - sleep: 5
        - advanceClock: { ms: 7 }
        - script: "true"
        - exec: { node: node1, command: "echo hi", exitCode: any, stdout: hi }
        - error: { resource: { kind: Pod } }
          title: no pods at all
`, 's.yaml');
  const ops = s.steps[0].try;
  t.match(ops[0], { kind: 'kubelet', action: 'restart', nodes: ['node1'] });
  t.match(ops[1], { kind: 'devicePlugin', action: 'deleteSocket', nodes: ['node1'] });
  t.match(ops[2], { kind: 'nodeReboot', nodes: ['node1'] });
  t.match(ops[3], { kind: 'sleep', ms: 5 });
  t.match(ops[4], { kind: 'advanceClock', ms: 7 });
  t.match(ops[5], { kind: 'script', command: 'true', env: {} });
  t.match(ops[6], { kind: 'exec', target: { node: 'node1' }, argv: ['sh', '-c', 'echo hi'], expect: { exitCode: null, stdout: { contains: ['hi'] } } });
  t.match(ops[7], { kind: 'error', title: 'no pods at all', timeoutMs: 5000 });
});

t.test('bad files fail before anything runs, with file:line:column: field: message', async (t) => {
  const multiNode = `  nodes:
    - name: n1
      nics: [{model: intel-i350, pciAddr: "0000:01:00.0"}]
    - name: n2
      nics: [{model: intel-i350, pciAddr: "0000:01:00.0"}]
`;
  const cases: Array<[string, string, string[]]> = [
    ['unknown operation', `  steps:\n    - name: a\n      try:\n        - aply: { file: x.yaml }\n`,
      ['s.yaml:9:11: spec.steps[0].try[0].aply: unknown field "aply" (did you mean "apply"?); known: title, apply, delete, assert, error, exec, sysfs, ip, kubelet, devicePlugin, nodeReboot, fault, advanceClock, sleep, script, collect, events, get']],
    ['two operations in one item', `  steps:\n    - name: a\n      try:\n        - apply: { file: x.yaml }\n          delete: { kind: Pod, name: a }\n`,
      ['s.yaml:9:11: spec.steps[0].try[0]: one operation per list item, got apply and delete; split them into separate items']],
    ['unknown key with suggestion', `  steps:\n    - name: a\n      try:\n        - assert:\n            timeout: 5\n            resource: { kind: Pod }\n`,
      ['s.yaml:10:13: spec.steps[0].try[0].assert.timeout: unknown field "timeout" (did you mean "timeoutMs"?); known: file, resource, resources, timeoutMs, intervalMs']],
    ['missing steps', `  stepz: []\n`,
      ['s.yaml:6:3: spec.stepz: unknown field "stepz" (did you mean "steps"?); known: topology, nodes, devicePlugin, requires, resources, timeouts, steps, catch',
        's.yaml:6:3: spec.steps: required field is missing']],
    ['wrong kind', head.replace('kind: Scenario', 'kind: Scenrio').replace(/spec:\n$/, '') + 'spec:\n  steps: [{name: a, try: [{sleep: 1}]}]\n',
      ['s.yaml:2:7: kind: "Scenrio" is not one of Scenario (did you mean "Scenario"?)']],
    ['bad enum', `  steps:\n    - name: a\n      try:\n        - kubelet: reboot\n`,
      ['s.yaml:9:20: spec.steps[0].try[0].kubelet: "reboot" is not one of restart, stop, start']],
    ['number where a string is needed', `  steps:\n    - name: a\n      try:\n        - exec: { pod: 7, command: ls }\n`,
      ['s.yaml:9:24: spec.steps[0].try[0].exec.pod: expected a string, got number 7 (quote it: "7")']],
    ['node required on a multi-node topology, unknown node', `${multiNode}  steps:\n    - name: a\n      try:\n        - sysfs: { path: /sys/x }\n        - kubelet: { action: restart, node: n3 }\n`,
      ['s.yaml:14:18: spec.steps[0].try[0].sysfs.node: required field is missing: the topology has 2 nodes (n1, n2)',
        's.yaml:15:45: spec.steps[0].try[1].kubelet.node: node "n3" is not in the topology (nodes: n1, n2)']],
    ['inline topology problems point into the scenario', `  nodes:\n    - name: n1\n      nics: [{model: intel-i350, pciAddr: "0000:01:00.0", numVfs: 9}]\n  steps: [{name: a, try: [{sleep: 1}]}]\n`,
      ['s.yaml:8:59: spec.nodes[0].nics[0].numVfs: 9 VFs requested but the intel-i350 sriov_totalvfs is 7']],
    ['inline nodes are checked by the topology file\'s shape, at their position', `  nodes:\n    - name: n1\n      labels: { "a b": x }\n      nics: [{model: intel-i35, pciAddr: "0000:01:00.0"}]\n  steps: [{name: a, try: [{sleep: 1}]}]\n`,
      ['s.yaml:8:17: spec.nodes[0].labels["a b"]: label key "a b": the name part must be 1-63 characters of letters, digits, "-", "_", ".", starting and ending alphanumeric',
        's.yaml:9:22: spec.nodes[0].nics[0].model: unknown NIC model "intel-i35" (did you mean "intel-i350"?); known: intel-82576, intel-i350, intel-82599, intel-xl710, intel-e810, mlx-cx5, mlx-cx6, virtio-net']],
    ['a required field without a value is missing', `  steps:\n`, ['s.yaml:6:3: spec.steps: required field is missing']],
    ['a vfAttrFail names a VF attribute', `  steps:\n    - name: a\n      try:\n        - fault: { kind: vfAttrFail, pf: ens1f0, attr: linkstate, errno: EOPNOTSUPP }\n`,
      ['s.yaml:9:56: spec.steps[0].try[0].fault.attr: "linkstate" is not one of mac, vlan, qos, vlanProto, spoofchk, trust, linkState, minTxRate, maxTxRate (did you mean "linkState"?)']],
    ['fault fields are checked per kind', `  steps:\n    - name: a\n      try:\n        - fault: { kind: vfLink, pf: ens1f0, errno: EIO }\n`,
      ['s.yaml:9:18: spec.steps[0].try[0].fault.up: required field is missing for fault kind vfLink',
        's.yaml:9:46: spec.steps[0].try[0].fault.errno: does not apply to fault kind vfLink (its fields: pf, vf, up)']],
    ['bad placeholder, expectation without kind', `  steps:\n    - name: a\n      try:\n        - assert: { resource: { kind: Pod, status: { phase: "~/Run(/" } } }\n        - error: { resource: { metadata: { name: a } } }\n`,
      ['s.yaml:9:54: spec.steps[0].try[0].assert.resource.status.phase: bad regex in "~/Run(/": Invalid regular expression: /Run(/: Unterminated group',
        's.yaml:10:20: spec.steps[0].try[1].error.resource.kind: required field is missing']],
    ['apply needs apiVersion; duplicate step names', `  steps:\n    - name: a\n      try:\n        - apply: { resource: { kind: Pod, metadata: { name: a } } }\n    - name: a\n      try: [ { sleep: 10 } ]\n`,
      ['s.yaml:9:20: spec.steps[0].try[0].apply.resource.apiVersion: required field is missing',
        's.yaml:10:7: spec.steps[1].name: duplicate step name "a" (also spec.steps[0]); reports tell steps apart by name']],
    ['missing manifest file', `  steps:\n  - name: a\n    try:\n      - apply: { file: nope.yaml }\n`,
      ['s.yaml:9:24: spec.steps[0].try[0].apply.file: manifest file nope.yaml does not exist (looked for /nonexistent/nope.yaml)']],
    ['no operation', `  steps:\n    - name: a\n      try:\n        - title: nothing\n`,
      ['s.yaml:9:11: spec.steps[0].try[0]: no operation; give one of apply, delete, assert, error, exec, sysfs, ip, kubelet, devicePlugin, nodeReboot, fault, advanceClock, sleep, script, collect, events, get']],
    ['exec needs exactly one target', `  steps:\n    - name: a\n      try:\n        - exec: { command: ls }\n`,
      ['s.yaml:9:17: spec.steps[0].try[0].exec: give exactly one of pod or node']],
    ['YAML syntax', `  steps: [\n`, ['s.yaml:7:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']],
    ['empty file', ``, ['s.yaml:1:1: empty document; expected apiVersion: sriov-lab.dev/v1alpha1, kind: Scenario, metadata and spec']],
  ];
  for (const [name, body, want] of cases) {
    const text = name === 'wrong kind' || name === 'empty file' ? body : head + body;
    t.same(errors(text), want, name);
  }
});

t.test('problems inside a referenced manifest file carry that file\'s position', async (t) => {
  const dir = t.testdir({
    'm.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\nkind: Pod\nmetadata: { name: b }\n',
    's.yaml': `${head}  steps:\n    - name: a\n      try:\n        - apply: { file: m.yaml }\n`,
  });
  try {
    loadScenario(join(dir, 's.yaml'));
    t.fail('should throw');
  } catch (e) {
    const err = e as ScenarioValidationError;
    t.equal(err.issues.length, 1);
    t.match(err.issues[0], { line: 6, column: 1, field: 'apiVersion', message: 'required field is missing' });
    t.match(err.issues[0].file, /m\.yaml$/);
  }
});

t.test('defineScenario: the same rules without line numbers', async (t) => {
  const s = defineScenario({
    apiVersion: 'sriov-lab.dev/v1alpha1',
    kind: 'Scenario',
    metadata: { name: 'coded' },
    spec: { steps: [{ name: 'one', try: [{ sleep: 1 }, { kubelet: 'restart' }] }] },
  });
  t.equal(s.name, 'coded');
  t.same(s.steps[0].try.map((o) => o.kind), ['sleep', 'kubelet']);
  t.equal(s.steps[0].try[0].location, undefined);
  t.throws(
    () => defineScenario({ apiVersion: 'sriov-lab.dev/v1alpha1', kind: 'Scenario', metadata: { name: 'bad' }, spec: { steps: [{ name: 'one', try: [{ sleep: 1, advanceClock: 2 }] }] } }),
    { name: 'ScenarioValidationError', message: /<defineScenario bad>: spec\.steps\[0\]\.try\[0\]: one operation per list item/ },
  );
});

t.test('findScenarioFiles walks folders for kind: Scenario', async (t) => {
  const dir = t.testdir({
    a: { 'one.yaml': `${head}  steps: []\n`, 'pod.yaml': 'kind: Pod\n' },
    'two.yml': `${head}  steps: []\n`,
    '.hidden': { 'three.yaml': `${head}` },
  });
  t.same(findScenarioFiles([dir]).map((f) => f.slice(dir.length + 1)), ['a/one.yaml', 'two.yml']);
  t.throws(() => findScenarioFiles([join(dir, 'nope')]), { name: 'ScenarioValidationError', message: /no such file/ });
});

t.test('a binary scenario file: one issue naming the file and the first bad byte, nothing of it echoed', async (t) => {
  const garbage = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 151 + 7) % 256)).toString('utf8');
  const err = t.throws(() => parseScenario(garbage, 'garbage.yaml')) as ScenarioValidationError;
  t.equal(err.issues.length, 1);
  t.match(err.message, /^garbage\.yaml:1:\d+: not a text file: /m);
  t.ok(err.message.length < 200, `the message is ${err.message.length} characters`);
});

t.test('delete: wait false returns once requested; waitMs with it is an error at its line', async (t) => {
  const s = parseScenario(`${head}  steps:\n    - name: a\n      try:\n        - delete: { kind: Pod, name: p, wait: false }\n        - delete: { kind: Pod, name: q, waitMs: 2000 }\n`, 's.yaml', { dir: '/nonexistent' });
  t.match(s.steps[0].try[0], { kind: 'delete', wait: false, waitMs: undefined, title: 'delete pod/p (not waiting)' });
  t.match(s.steps[0].try[1], { kind: 'delete', wait: true, waitMs: 2000, title: 'delete pod/q' });
  t.same(errors(`${head}  steps:\n    - name: a\n      try:\n        - delete: { kind: Pod, name: p, wait: false, waitMs: 10 }\n`), [
    's.yaml:9:54: spec.steps[0].try[0].delete.waitMs: does not apply with wait: false (the step does not wait for the object to go)',
  ]);
  t.same(errors(`${head}  steps:\n    - name: a\n      try:\n        - delete: { kind: Pod, name: p, wait: "no" }\n`).length, 1, 'wait is a boolean');
});

t.test('the lifecycle faults: netnsRemove needs a pod, cniPath needs up', async (t) => {
  const s = parseScenario(`${head}  steps:\n    - name: a\n      try:\n        - fault: { kind: netnsRemove, pod: p }\n        - fault: { kind: cniPath, up: false }\n`, 's.yaml', { dir: '/nonexistent' });
  t.match(s.steps[0].try[0], { kind: 'fault', node: 'node1', fault: { kind: 'netnsRemove', pod: 'p' }, title: 'fault remove the netns of pod default/p' });
  t.match(s.steps[0].try[1], { kind: 'fault', fault: { kind: 'cniPath', up: false }, title: 'fault CNI path down' });
  const errs = errors(`${head}  steps:\n    - name: a\n      try:\n        - fault: { kind: netnsRemove, up: true }\n`);
  t.match(errs.join('\n'), /spec\.steps\[0\]\.try\[0\]\.fault\.up: does not apply to fault kind netnsRemove/);
  t.match(errs.join('\n'), /spec\.steps\[0\]\.try\[0\]\.fault\.pod: required field is missing for fault kind netnsRemove/);
});

// found by load.fuzz.test.ts (shrunk): an applied pod whose containers were a mapping made resourcesOf throw
// "object is not iterable"; the object goes to the API server as written, which says what is wrong with it
t.test('an applied object of any shape is loaded: resources are read only from fields of the right type', async (t) => {
  const odd = [{ containers: { name: 'c' } }, { containers: [null, 'x', { resources: [] }, { resources: { limits: 'x', requests: ['a/b'] } }] }, 'spec'];
  const s = parseScenario(
    `${head}  steps:\n    - name: one\n      try:\n${odd.map((spec, i) => `        - apply: {resource: {apiVersion: v1, kind: Pod, metadata: {name: p${i}, annotations: 7}, spec: ${JSON.stringify(spec)}}}\n`).join('')}`,
    's.yaml',
  );
  t.equal(s.steps[0].try.length, 3);
  t.same(s.resources, []);
});
