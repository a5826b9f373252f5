import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunResult } from '../../reports/json.ts';
import { runCommand } from './command.ts';
import { fakeBackend, fakeClock, type FakeClusterTable } from './fixtures/fake-cluster.ts';
import { createBackendRegistry } from './registry.ts';
import { projectRoot } from '../../sim/paths.ts';
import { loadTopology } from '../../sim/topology/topology.ts';

const head = (name: string) => `apiVersion: sriov-lab.dev/v1alpha1\nkind: Scenario\nmetadata:\n  name: ${name}\nspec:\n`;

function harness(t: Test, table: FakeClusterTable = {}) {
  const clock = fakeClock();
  const backend = fakeBackend(table, clock);
  const registry = createBackendRegistry();
  registry.register(backend);
  let out = '';
  let err = '';
  const dir = t.testdir({
    suite: {
      'ok.yaml': `${head('ok')}  steps: [{ name: s, try: [{ sleep: 1 }] }]\n`,
      'pod.yaml': `${head('pod-runs')}  steps:\n    - name: running\n      try:\n        - assert: { timeoutMs: 100, resource: { kind: Pod, metadata: { name: a }, status: { phase: Running } } }\n`,
      'not-a-scenario.yaml': 'kind: Pod\n',
    },
    bad: { 'bad.yaml': `${head('bad')}  steps:\n    - name: s\n      try:\n        - kubelet: reboot\n` },
  });
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, registry, clock, cwd: dir };
  return { dir, io, backend, out: () => out, err: () => err };
}

t.test('a passing run exits 0 and writes the JSON contract', async (t) => {
  const h = harness(t, { objects: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, status: { phase: 'Running' } }] });
  const json = join(h.dir, 'out', 'run.json');
  const junit = join(h.dir, 'out', 'run.xml');
  const code = await runCommand([join(h.dir, 'suite'), '--seed', '9', '--json', json, '--junit', junit], h.io);
  t.equal(code, 0, h.err());
  const run = parseRunResult(readFileSync(json, 'utf8'), json);
  t.same(run.scenarios.map((s) => [s.file, s.status]), [['suite/ok.yaml', 'passed'], ['suite/pod.yaml', 'passed']]);
  t.equal(run.run.seed, 9);
  t.equal(run.scenarios[0].reproduceCommand, 'sriov-lab run suite/ok.yaml --seed 9 --backend sim');
  t.ok(existsSync(junit));
  t.match(h.out(), /2 scenarios on backend sim \(seed 9/);
});

t.test('a failing scenario exits 1 and prints where it failed', async (t) => {
  const h = harness(t, { objects: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, status: { phase: 'Pending' } }] });
  const code = await runCommand([join(h.dir, 'suite'), '--seed', '1', '--filter', 'pod-*'], h.io);
  t.equal(code, 1);
  t.match(h.out(), /pod-runs/);
  t.match(h.out(), /phase: Running/);
  t.match(h.out(), /suite\/pod\.yaml:9:11/);
  t.notMatch(h.out(), /\bok\b.*passed/);
});

t.test('an invalid scenario file: exit 2, file:line:column, nothing ran', async (t) => {
  const h = harness(t);
  const code = await runCommand([join(h.dir, 'bad'), join(h.dir, 'suite')], h.io);
  t.equal(code, 2);
  t.match(h.err(), /bad\/bad\.yaml:9:20: spec\.steps\[0\]\.try\[0\]\.kubelet: "reboot" is not one of restart, stop, start/);
  t.match(h.err(), /1 problem in scenario files; nothing ran/);
  t.same(h.backend.calls, []);
});

t.test('usage errors and unknown backends exit 2 with a clear message', async (t) => {
  const h = harness(t);
  t.equal(await runCommand([join(h.dir, 'suite'), '--backend', 'kind'], h.io), 2);
  t.match(h.err(), /unknown backend "kind"; known backends: sim/);
  t.equal(await runCommand(['--seed', 'x'], h.io), 2);
  t.match(h.err(), /--seed x: expected a whole number/);
  t.equal(await runCommand(['--frobnicate'], h.io), 2);
  t.match(h.err(), /Unknown option '--frobnicate'/);
  t.equal(await runCommand([join(h.dir, 'nope')], h.io), 2);
  t.match(h.err(), /nope: no such file or directory/);
  t.equal(await runCommand([join(h.dir, 'suite'), '--reuse', 'lab'], h.io), 2);
  t.match(h.err(), /--reuse is for the kind backend, not sim/);
  t.same(h.backend.calls, [], 'nothing ran');
});

t.test('run --help lists every backend, cluster and kind with their flags', async (t) => {
  const h = harness(t);
  t.equal(await runCommand(['--help'], h.io), 0);
  t.match(h.out(), /--backend sim\|qemu\|host\|cluster\|kind\b/);
  t.match(h.out(), /kind \(a kind cluster made for the\s+topology/);
  t.match(h.out(), /--reuse NAME/);
});

t.test('--device-plugin and --cni reach the backend unmodified', async (t) => {
  const h = harness(t);
  const code = await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--seed', '3', '--device-plugin', '/opt/dp --log-level "10"', '--cni', '/opt/cni/sriov'], h.io);
  t.equal(code, 0);
  t.same(h.backend.ups[0].devicePlugin, { argv: ['/opt/dp', '--log-level', '10'] });
  t.same(h.backend.ups[0].cni, { path: '/opt/cni/sriov' });
});

t.test('--multus: an executable for the sim backend reaches it and the reproduce command; refused elsewhere', async (t) => {
  const h = harness(t);
  const multus = join(h.dir, 'multus');
  writeFileSync(multus, '#!/bin/sh\n', { mode: 0o755 });
  const json = join(h.dir, 'r.json');
  t.equal(await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--seed', '3', '--multus', multus, '--json', json], h.io), 0, h.err());
  t.equal(h.backend.ups[0].multus, multus, 'the backend gets the binary');
  t.match(parseRunResult(readFileSync(json, 'utf8')).scenarios[0].reproduceCommand, `--multus ${multus}`, 'and the reproduce command has it');
  t.equal(await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--multus', join(h.dir, 'none')], h.io), 2, 'a path with no executable: usage error');
  t.match(h.err(), `--multus ${join(h.dir, 'none')}: no executable file there`);
  const q = harness(t);
  const registry = createBackendRegistry();
  registry.register(fakeBackend({}, fakeClock(), 'qemu'));
  t.equal(await runCommand([join(q.dir, 'suite', 'ok.yaml'), '--backend', 'qemu', '--multus', multus], { ...q.io, registry }), 2);
  t.match(q.err(), "--multus is for the sim backend, whose nodes' CNI sriov-lab sets up; the qemu backend's nodes bring their own");
});

t.test('interrupting still writes the reports and exits 1', async (t) => {
  {
    const controller = new AbortController();
    const h = harness(t, { hooks: { down: () => controller.abort() } });
    const json = join(h.dir, 'run.json');
    // one at a time (the default is one per core): the second has not started when the first one's down aborts
    const code = await runCommand([join(h.dir, 'suite'), '--json', json, '--jobs', '1'], { ...h.io, signal: controller.signal });
    t.equal(code, 1);
    const run = parseRunResult(readFileSync(json, 'utf8'));
    t.equal(run.run.interrupted, true);
    t.same(run.scenarios.map((s) => s.status), ['passed', 'skipped'], 'aborted after the first scenario');
  }
  {
    const controller = new AbortController();
    controller.abort();
    const h = harness(t);
    const json = join(h.dir, 'run2.json');
    t.equal(await runCommand([join(h.dir, 'suite'), '--json', json], { ...h.io, signal: controller.signal }), 1);
    t.same(parseRunResult(readFileSync(json, 'utf8')).scenarios.map((s) => s.status), ['skipped', 'skipped'], 'aborted before it began');
  }
});

t.test('--topology: the topology of the scenarios that name none, and in the reproduce commands', async (t) => {
  const h = harness(t);
  const code = await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--seed', '4', '--topology', join(projectRoot(), 'scenarios/topologies/two-nodes-i350.yaml')], h.io);
  t.equal(code, 0, h.err());
  t.same(h.backend.ups[0].topology.nodes.map((n) => n.name), loadTopology(join(projectRoot(), 'scenarios/topologies/two-nodes-i350.yaml')).nodes.map((n) => n.name));
  t.ok(h.backend.ups[0].topology.nodes.length > 1, 'not the one-node default');
  const json = join(h.dir, 'run.json');
  await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--seed', '4', '--topology', 'two-nodes-i350.yaml', '--json', json], { ...h.io, cwd: join(projectRoot(), 'scenarios/topologies') });
  t.match(parseRunResult(readFileSync(json, 'utf8')).scenarios[0].reproduceCommand, / --topology two-nodes-i350\.yaml$/);
  t.equal(await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--topology', join(h.dir, 'nope.yaml')], h.io), 2);
  t.match(h.err(), /--topology: .*nope\.yaml.*cannot read the topology file/);
});

t.test('a plugin given by a relative path is resolved against the working directory', async (t) => {
  const h = harness(t);
  t.equal(await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--device-plugin', './build/dp -v', '--cni', 'build/sriov'], h.io), 0);
  t.same(h.backend.ups[0].devicePlugin, { argv: [join(h.dir, 'build/dp'), '-v'] });
  t.same(h.backend.ups[0].cni, { path: join(h.dir, 'build/sriov') });
  t.equal(await runCommand([join(h.dir, 'suite', 'ok.yaml'), '--device-plugin', 'sriovdp'], h.io), 0);
  t.same(h.backend.ups[1].devicePlugin, { argv: ['sriovdp'] }, 'a bare name is looked up on PATH, as a shell would');
});
