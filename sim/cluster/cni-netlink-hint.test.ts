// A third-party CNI that fails on the simulator the way a plugin that programs VFs over netlink does (upstream
// sriov-cni: "failed to get original vf information: failed to find vf 0") gets a failure message that says the
// simulated kernel answers VF netlink only through `ip`, and that --backend qemu runs it on a real kernel. Other
// failures keep their message as it was.
import t from 'tap';
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { isRoot } from '../caps.ts';
import { vfNetlinkHint } from '../netns/vf-netlink.ts';
import { RealClock } from '../kubelet/clock.ts';
import { NodeRuntime, type NadLite } from './node-runtime.ts';
import type { ExecOutcome } from '../node/exec.ts';

const UPSTREAM = 'failed to get original vf information: failed to find vf 0';

t.test('vfNetlinkHint: the messages of a plugin that asked the kernel for VFs itself', async (t) => {
  for (const msg of [UPSTREAM, 'failed to find vf 3', 'failed to set vf 0 vlan: operation not supported', 'LinkSetVfHardwareAddr: no such device']) {
    t.match(vfNetlinkHint(msg), /answers VF netlink only through `ip`.*--backend qemu/, msg);
  }
  for (const msg of ['failed to find plugin "sriov" in path [/opt/cni/bin]', 'VF pci addr is required', 'failed to open netns']) {
    t.equal(vfNetlinkHint(msg), undefined, msg);
  }
});

t.test('a CNI call that fails so gets the note in the pod\'s failure; another failure does not', { skip: isRoot() ? false : 'needs root (a real netns per pod)' }, async (t) => {
  // the plugins the calls name are in the node's /opt/cni/bin (a missing one fails as libcni's FindInPath)
  const dir = t.testdir({ opt: { cni: { bin: { sriov: '', bridge: '' } } } });
  let sriovStdout = '';
  const outcome = (exitCode: number, stdout: string): ExecOutcome => ({ exitCode, stdout, stderr: '', durationMs: 1 });
  const prefix = `sl-hint-${createHash('sha256').update(dir).digest('hex').slice(0, 6)}`;
  const rt = new NodeRuntime({
    nodeName: 'node1',
    index: 0,
    machine: {
      hostPath: (p) => `${dir}${p}`,
      spawn: () => {
        throw new Error('no process is started in this test');
      },
      // the default network (bridge) succeeds; the network under test fails as the plugin printed it
      exec: async (argv) => (argv[0] === '/opt/cni/bin/sriov' ? outcome(1, sriovStdout) : outcome(0, '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}')),
      netnsPrefix: prefix,
    },
    clock: new RealClock(),
    seed: '1',
    devicePluginArgv: [],
    devicePluginConfig: {},
    cniPlugins: {},
    explainCniFailure: vfNetlinkHint,
  });
  t.teardown(() => rt.stop());
  const nad = (): NadLite => ({ metadata: {}, spec: { config: '{"cniVersion":"1.0.0","type":"sriov"}' } });
  const pod = (name: string): V1Pod => ({ metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov-net' } } });

  sriovStdout = JSON.stringify({ code: 999, msg: UPSTREAM });
  await t.rejects(rt.podStarted(pod('a'), nad), {
    name: 'PodStartError',
    message: new RegExp(`plugin type="sriov" name="sriov-net" failed \\(add\\): ${UPSTREAM} \\(this plugin programs VFs over netlink itself, and the simulated kernel answers VF netlink only through \`ip\` .*: run it with --backend qemu, on a real kernel with igb VFs\\)$`),
  });

  sriovStdout = JSON.stringify({ code: 7, msg: 'VF pci addr is required' });
  await t.rejects(rt.podStarted(pod('b'), nad), {
    name: 'PodStartError',
    message: /^rpc error: code = Unknown desc = failed to setup network for sandbox "[0-9a-f]{64}": plugin type="sriov" name="sriov-net" failed \(add\): VF pci addr is required$/,
  });
});
