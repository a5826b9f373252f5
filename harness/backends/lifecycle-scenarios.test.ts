// The lifecycle scenarios of the library on sim through the runner: the three upstream reproductions pass with the
// bundled plugins and go the way their headers say (the late DEL really comes after the new pod's ADD; the DEL
// without a netns gets an empty CNI_NETNS; the failed DEL is retried once the CNI path is back); and a CNI with
// upstream's bug fails them. grace-period.yaml still passes.
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import type { ScenarioResult } from '../../reports/types.ts';
import { bundledCniArgv } from '../plugins.ts';
import { runToResult } from '../runner/command.ts';
import { simBackend } from './sim.ts';

const root = projectRoot();
const file = (name: string) => join(root, 'scenarios', name);
const run = (args: string[]) => runToResult(args, [simBackend], root);

const failure = (s: ScenarioResult) => s.steps.flatMap((st) => st.operations).find((o) => o.error)?.error?.message ?? '';
const cniCalls = (s: ScenarioResult) => s.trace.flatMap((e) => (e.kind === 'cni' && e.plugin === 'sriov' ? [e] : []));

const available = await simBackend.available();
if (!available.ok) {
  t.plan(0, `skipped: the sim backend cannot run here: ${available.reason}`);
} else {
  t.test('the upstream lifecycle scenarios and grace-period pass with the bundled plugins', async (t) => {
    const r = await run([file('upstream/sriov-cni-219.yaml'), file('upstream/sriov-cni-126.yaml'), file('upstream/sriov-dp-685.yaml'), file('kubelet/grace-period.yaml'), '--seed', '16']);
    t.same(r.result.scenarios.map((s) => `${s.name}: ${s.status} ${failure(s)}`.trim()), [
      'upstream-sriov-cni-219: passed',
      'upstream-sriov-cni-126: passed',
      'upstream-sriov-dp-685: passed',
      'kubelet-grace-period: passed',
    ]);
    t.equal(r.code, 0, r.err.slice(-2000));
    const [s219, s126, s685] = r.result.scenarios;

    const calls219 = cniCalls(s219);
    const newAdd = calls219.findIndex((c) => c.command === 'ADD' && c.pod === 'default/new-pod' && c.exitCode === 0);
    const lateDel = calls219.findIndex((c) => c.command === 'DEL' && c.pod === 'default/old-pod');
    t.ok(newAdd >= 0 && lateDel > newAdd, 'the old pod\'s DEL ran after the new pod got the VF');
    t.equal(calls219[lateDel]?.env.CNI_NETNS, '', 'with the netns gone, DEL gets an empty CNI_NETNS');
    t.equal(calls219[lateDel]?.exitCode, 0);

    const del126 = cniCalls(s126).filter((c) => c.command === 'DEL');
    t.same(del126.map((c) => [c.env.CNI_NETNS, c.exitCode]), [['', 0]], 'one DEL, without a netns, that succeeded');

    const calls685 = cniCalls(s685);
    const first = calls685.find((c) => c.command === 'ADD')!;
    const retried = calls685.filter((c) => c.command === 'DEL' && c.env.CNI_CONTAINERID === first.env.CNI_CONTAINERID);
    t.same(retried.map((c) => c.exitCode), [0], 'the first sandbox\'s DEL ran once the CNI path was back (the failed call found no plugin to run)');
    const gcLog = s685.trace.find((e) => e.kind === 'log' && /sandbox GC: removing sandbox/.test(e.message));
    t.ok(gcLog, 'it was the sandbox GC');
    t.ok(
      s685.trace.some((e) => e.kind === 'log' && /failed to destroy network for sandbox ".+": plugin type="sriov" name="sriov-net" failed \(delete\): failed to find plugin "sriov" in path \[\/opt\/cni\/bin\]/.test(e.message)),
      'the failed teardown is logged as containerd and libcni word it',
    );
  });

  const bundled = bundledCniArgv();
  t.test('a CNI with upstream\'s bugs fails the scenarios that reproduce them', { skip: bundled ? false : 'the bundled CNI is not built (npm run build)' }, async (t) => {
    if (!bundled) return;
    const dir = mkdtempSync(join(tmpdir(), 'lifecycle-buggy-cni-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // sriov-cni before PR #313: DEL resets the VF whoever holds it now; and (#126) gives up without a netns
    const buggy = join(dir, 'sriov');
    writeFileSync(
      buggy,
      [
        '#!/bin/sh',
        'if [ "$CNI_COMMAND" = DEL ]; then',
        '  [ -z "$CNI_NETNS" ] && [ -n "$BUGGY_GIVES_UP" ] && exit 0',
        '  ip link set ens1f0 vf 0 mac 00:00:00:00:00:00',
        'fi',
        `exec ${bundled.map(q).join(' ')} "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(buggy, 0o755);
    const r219 = await run([file('upstream/sriov-cni-219.yaml'), '--seed', '16', '--cni', buggy]);
    t.equal(r219.result.scenarios[0].status, 'failed');
    t.match(r219.result.scenarios[0].steps.find((s) => s.status === 'failed')?.name, "the old pod's late DEL leaves new-pod's VF alone");

    const giveUp = join(dir, 'sriov-gives-up');
    writeFileSync(giveUp, `#!/bin/sh\nBUGGY_GIVES_UP=1 exec ${q(buggy)} "$@"\n`);
    chmodSync(giveUp, 0o755);
    const r126 = await run([file('upstream/sriov-cni-126.yaml'), '--seed', '16', '--cni', giveUp]);
    t.equal(r126.result.scenarios[0].status, 'failed');
    t.match(r126.result.scenarios[0].steps.find((s) => s.status === 'failed')?.name, 'DEL restores the VF without the netns');
  });

  t.test('delete wait: false: later steps see Terminating; the device waits for the grace period (SIGTERM ignored)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lifecycle-delete-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // the container says when it ignores SIGTERM: a SIGTERM before its trap would end it at once (seen under load)
    const ready = join(dir, 'trap-set');
    const pod = (name: string, extra: string) =>
      `{ apiVersion: v1, kind: Pod, metadata: { name: ${name} }, spec: { ${extra}containers: [{ name: app, image: busybox, ${name === 'stubborn' ? `command: [sh, -c, "trap '' TERM; touch ${ready}; while true; do sleep 0.2; done"], ` : ''}resources: { limits: { intel.com/sriov_netdevice: "1" } } }] } }`;
    const f = join(dir, 'delete-not-waiting.yaml');
    writeFileSync(
      f,
      `apiVersion: sriov-lab.dev/v1alpha1
kind: Scenario
metadata: { name: delete-not-waiting }
spec:
  nodes: [{ name: node1, nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", ifname: ens1f0, numVfs: 1 }] }]
  requires: [root, fuse]
  timeouts: { assertMs: 30000 }
  steps:
    - name: a pod that ignores SIGTERM holds the only VF
      try:
        - apply: { resource: ${pod('stubborn', 'terminationGracePeriodSeconds: 4, ')} }
        - assert: { resource: { kind: Pod, metadata: { name: stubborn }, status: { phase: Running } } }
        - exec: { node: node1, command: "sh -c 'i=0; until [ -e ${ready} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.05; done'" }
        - apply: { resource: ${pod('next', '')} }
        - assert: { resource: { kind: Pod, metadata: { name: next }, status: { phase: Pending } } }
    - name: delete without waiting
      try:
        - delete: { kind: Pod, name: stubborn, wait: false }
        - assert: { resource: { kind: Pod, metadata: { name: stubborn, deletionGracePeriodSeconds: 4 } }, timeoutMs: 0 }
        - assert: { resource: { kind: Pod, metadata: { name: next }, status: { phase: Pending } }, timeoutMs: 0 }
        - error: { resource: { kind: Pod, metadata: { name: stubborn } } }
        - assert: { resource: { kind: Pod, metadata: { name: next }, status: { phase: Running } } }
`,
    );
    const r = await run([f, '--seed', '16']);
    const s = r.result.scenarios[0];
    t.equal(s.status, 'passed', failure(s));
    const ops = s.steps[1].operations;
    const gone = ops[3];
    // the container ignores SIGTERM: the pod goes only after SIGKILL at the end of its 4 s grace period
    t.ok(ops[0].durationMs + ops[1].durationMs + ops[2].durationMs + gone.durationMs >= 3500, `the pod went after its grace period (${gone.durationMs} ms of waiting)`);
  });
}
