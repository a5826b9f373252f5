// The node-agent image's root as the Dockerfile's build stage writes it (`sriov-lab-image-stage.mjs agent DIR`, with
// this machine's node standing in for the base's), run with chroot instead of a container: node runs the agent
// bundle, and the tools the agent's DaemonSet and --host-ns use (sleep, nsenter) run from it with nothing of the host.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { IMAGE_AGENT_BUNDLE, IMAGE_NODE } from '../backends/cluster/agent.ts';
import { findProgram } from './rootfs.ts';

const dist = (f: string) => join(projectRoot(), 'dist', f);
const root = caps.root();
const chroot = findProgram('chroot');
const unbuilt = ['sriov-lab-image-stage.mjs', 'sriov-lab-node-agent.mjs'].filter((f) => !existsSync(dist(f)));

if (!root.ok) t.plan(0, `skipped: chroot needs root (${root.detail})`);
else if (!chroot) t.plan(0, 'skipped: no chroot here');
else if (unbuilt.length) t.plan(0, `skipped: npm run build first (${unbuilt.join(', ')})`);
else {
  t.test('the agent stage: node, the bundle, nsenter and sleep, each with its libraries', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-agentroot-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const stage = spawnSync(process.execPath, [dist('sriov-lab-image-stage.mjs'), 'agent', dir], { encoding: 'utf8' });
    t.equal(stage.status, 0, stage.stderr);
    t.match(stage.stdout, /node-agent root in .*: node v\d+.*, nsenter, sleep and their libraries/);
    // the Dockerfile's COPY of the bundle
    mkdirSync(join(dir, 'opt/sriov-lab'), { recursive: true });
    copyFileSync(dist('sriov-lab-node-agent.mjs'), join(dir, IMAGE_AGENT_BUNDLE));
    // env -i: nothing of this process's environment (a test runner's NODE_OPTIONS names its own files)
    const inRoot = (...argv: string[]) => spawnSync('env', ['-i', 'PATH=/usr/local/bin:/usr/bin', chroot!, dir, ...argv], { encoding: 'utf8' });
    const agent = inRoot(IMAGE_NODE, IMAGE_AGENT_BUNDLE);
    t.equal(agent.status, 1);
    t.match(agent.stderr, /usage: sriov-lab-node-agent CONFIG\.json \| --stdio \[--host-ns\]/, 'the image’s node runs the agent bundle (its usage: no arguments given)');
    t.equal(inRoot('sleep', '0').status, 0, 'sleep, the DaemonSet container’s command');
    t.match(inRoot('nsenter', '--version').stdout, /^nsenter from util-linux/, 'nsenter, which --host-ns runs the node’s commands with');
  });
}
