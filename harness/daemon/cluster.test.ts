// The must-show of `sriov-lab up`, end to end through the CLI as separate processes: one VF, two pods that each need
// it, the second Pending with the scheduler's message until the first is deleted; get/describe/apply/delete through
// the cluster's API server (the same table as the real kubectl's, where there is one); exec, logs, a kubelet restart,
// and `down` leaving no process, network namespace or mount behind.
import t from 'tap';
import { writeFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { caps } from '../../sim/caps.ts';
import { testCluster, until } from './fixtures/cli.ts';
import { ONE_VF_TOPOLOGY, SRIOV_NAD, vfPod } from '../cluster/fixtures/one-vf.ts';
import { findLeftovers, isDaemonAlive, listNetns, processesOf, readDaemonInfo, type DaemonInfo } from './state.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);


// line 13: requests of the second container: a request that differs from its limit (the apiserver's validation, mapped back to the line)
const BAD = `apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
  containers:
    - name: ok
      image: busybox
    - name: greedy
      resources:
        limits:
          intel.com/sriov_netdevice: 1
        requests:
          intel.com/sriov_netdevice: 2
`;

const KUBECTL = '/usr/bin/kubectl';

/** A program's stdout (it must exit 0). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { env }, (e, stdout, stderr) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${e.message}\n${stderr}`)) : resolve(stdout))));
}

interface PodJson {
  status?: { phase?: string };
}

if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  const { dir, cli, paths, seen: guard } = testCluster(t, 'sl-up-');
  let info: DaemonInfo | undefined;
  writeFileSync(join(dir, 'topology.yaml'), ONE_VF_TOPOLOGY);
  writeFileSync(join(dir, 'nad.yaml'), SRIOV_NAD);
  writeFileSync(join(dir, 'pods.yaml'), `${vfPod('first')}---\n${vfPod('second')}`);
  writeFileSync(join(dir, 'bad.yaml'), BAD);

  const phase = async (name: string): Promise<string | undefined> => {
    const r = await cli(['get', 'pod', name, '-o', 'json']);
    return r.code === 0 ? ((JSON.parse(r.stdout) as PodJson).status?.phase ?? 'Pending') : undefined;
  };

  t.test('up, two pods for one VF, delete, exec, logs, kubelet restart, down', async (t) => {
    const up = await cli(['up', '--topology', 'topology.yaml']);
    t.equal(up.code, 0, `up exits 0\n${up.stderr}`);
    t.match(up.stdout, /^simulated cluster is up: 1 node /, 'up says the cluster is up');
    t.match(up.stdout, /^ {2}node1: intel\.com\/sriov_netdevice=1$/m, 'with the VF as a resource');
    t.match(up.stdout, /sriov-lab get nodes/, 'and how to talk to it');
    t.match(up.stderr, /\[sriov-lab\] starting node node1 \(intel-i350 ens1f0\)/, 'progress lines while starting');
    info = guard.info = readDaemonInfo(paths);
    t.ok(info && isDaemonAlive(info), 'the daemon runs in the background after up exited');
    t.ok(info!.netns.length > 0 && info!.workDir, 'and recorded its namespaces and work dir');
    const own = processesOf(info!.id);
    t.ok(own.includes(info!.pid) && own.length >= 3, `the daemon and its children carry the marker (${own.length} processes)`);

    const kc = await cli(['kubeconfig']);
    t.equal(kc.stdout, `${paths.kubeconfig}\n`, 'kubeconfig prints the path of the kubeconfig');
    t.equal(statSync(paths.kubeconfig).mode & 0o777, 0o600, 'readable by its owner only');
    const kubeconfig = readFileSync(paths.kubeconfig, 'utf8');
    t.match(kubeconfig, /^current-context: sriov-lab$/m, 'with context sriov-lab');
    t.match(kubeconfig, new RegExp(`server: ${info!.apiServer?.replace(/[.]/g, '\\.')}$`, 'm'), 'naming the API server the daemon started');
    t.match(info!.apiServer, /^https:\/\/127\.0\.0\.1:\d+$/);

    const again = await cli(['up']);
    t.equal(again.code, 1, 'a second up is refused');
    t.match(again.stderr, new RegExp(`already running \\(daemon pid ${info!.pid},`), 'naming the running daemon');
    t.ok(isDaemonAlive(info!), 'and the first daemon is untouched');

    const nodes = await cli(['get', 'nodes']);
    t.match(nodes.stdout, /^NAME {4}STATUS {3}ROLES {4}AGE {3}VERSION\nnode1 {3}Ready {4}<none> {3}\S+ +v1\.34\.0\n$/, 'get nodes as kubectl prints it');

    const bad = await cli(['apply', '-f', 'bad.yaml']);
    t.equal(bad.code, 1, 'a broken manifest fails');
    t.equal(bad.stderr, 'bad.yaml:13:9: spec.containers[1].resources.requests: Invalid value: "2": must be equal to intel.com/sriov_netdevice limit of 1 (Pod "broken" is invalid)\n', 'with file:line:col of the request that differs from its limit');
    const none = await cli(['get', 'pods']);
    t.equal(none.stderr, 'No resources found in default namespace.\n', 'nothing of it was applied');

    const nad = await cli(['apply', '-f', 'nad.yaml']);
    t.equal(nad.stdout, 'networkattachmentdefinition.k8s.cni.cncf.io/sriov-net created\n');
    const pods = await cli(['apply', '-f', 'pods.yaml']);
    t.equal(pods.stdout, 'pod/first created\npod/second created\n', 'apply prints what it created');
    t.match((await cli(['get', 'net-attach-def'])).stdout, /^NAME {8}AGE\nsriov-net {3}\S+\n$/);

    await until('first Running', async () => (await phase('first')) === 'Running');
    t.equal(await phase('second'), 'Pending', 'the second pod waits');
    const described = await cli(['describe', 'pod', 'second']);
    t.match(described.stdout, /^Status: +Pending$/m);
    t.match(described.stdout, /^ {2}Warning {2}FailedScheduling {2}\S+ +default-scheduler {2}0\/1 nodes are available: 1 Insufficient intel\.com\/sriov_netdevice\.$/m, 'describe pod shows the FitError');
    const wide = await cli(['get', 'pods', '-o', 'wide']);
    t.match(wide.stdout, /^first +1\/1 +Running +0 +\S+ +10\.244\.0\.\d+ +node1 /m);
    t.match(wide.stdout, /^second +0\/1 +Pending +0 +\S+ +<none> +<none> /m);
    t.equal((await cli(['get', 'pods', '-o', 'name'])).stdout, 'pod/first\npod/second\n', '-o name');
    if (existsSync(KUBECTL)) {
      // both print the API server's Table: the same columns and cells (AGE apart, which may tick between the two)
      const cells = (out: string) => out.trimEnd().split('\n').map((l) => l.split(/ {2,}/).filter((_, i) => i !== 4));
      const real = await run(KUBECTL, ['get', 'pods', '-o', 'wide'], { ...process.env, KUBECONFIG: paths.kubeconfig });
      t.same(cells(real), cells(wide.stdout), 'kubectl get pods -o wide prints what sriov-lab get pods -o wide prints');
    } else t.comment(`no ${KUBECTL}: kubectl's output is not compared`);

    const addrA = await cli(['exec', 'first', '--', 'ip', '-br', 'addr']);
    t.equal(addrA.code, 0, addrA.stderr);
    t.match(addrA.stdout, /^net1(@\S+)?\s+\S+\s+192\.168\.50\.\d+\/24/m, 'the first pod has the VF as net1');

    const del = await cli(['delete', 'pod', 'first']);
    t.equal(del.stdout, 'pod "first" deleted from default namespace\n');
    await until('second Running', async () => (await phase('second')) === 'Running');
    t.equal((await cli(['get', 'pod', 'first'])).stderr, 'Error from server (NotFound): pods "first" not found\n');

    const linkB = await cli(['exec', 'second', '--', 'ip', '-br', 'link']);
    t.equal(linkB.code, 0, linkB.stderr);
    t.match(linkB.stdout, /^net1(@\S+)?\s/m, 'exec in the second pod shows net1');
    const envB = await cli(['exec', 'second', '--', 'sh', '-c', 'echo $PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE; exit 7']);
    t.equal(envB.stdout, '0000:01:10.0\n', 'the container env names the VF');
    t.equal(envB.code, 7, "exec exits with the command's status");

    const dpLog = await cli(['logs', 'device-plugin', '--node', 'node1']);
    t.equal(dpLog.code, 0);
    t.ok(dpLog.stdout.trim().length > 0, 'the device plugin log is not empty');
    t.match(dpLog.stdout, /intel\.com\/sriov_netdevice/);
    const tail1 = await cli(['logs', 'kubelet', '--node', 'node1', '--tail', '1']);
    t.equal(tail1.stdout.split('\n').length, 2, '--tail 1 prints one line');

    const registrations = async () => ((await cli(['logs', 'kubelet', '--node', 'node1'])).stdout.match(/Registered device plugin for intel\.com\/sriov_netdevice/g) ?? []).length;
    const before = await registrations();
    const restart = await cli(['restart', 'kubelet', '--node', 'node1']);
    t.equal(restart.code, 0, restart.stderr);
    t.equal(await phase('second'), 'Running', 'the pod keeps running through a kubelet restart');
    await until('the plugin registers again', async () => (await registrations()) > before);
    await until('the resource comes back', async () => {
      const n = JSON.parse((await cli(['get', 'node', 'node1', '-o', 'json'])).stdout) as { status: { allocatable: Record<string, string> } };
      return n.status.allocatable['intel.com/sriov_netdevice'] === '1';
    });
    t.pass('intel.com/sriov_netdevice is allocatable again after the restart');
    t.match((await cli(['describe', 'node', 'node1'])).stdout, /^ {2}intel\.com\/sriov_netdevice +1 +1$/m, 'and the pod still holds it (Allocated resources)');
    t.match((await cli(['exec', 'second', '--', 'ip', '-br', 'link'])).stdout, /^net1/m, 'net1 is still there');

    const plugins = async () => ((await cli(['logs', 'device-plugin', '--node', 'node1'])).stdout.match(/registered with kubelet/g) ?? []).length;
    const pluginsBefore = await plugins();
    const dpRestart = await cli(['restart', 'device-plugin', '--node', 'node1']);
    t.match(dpRestart.stdout, /^device plugin on node1 restarted \(pid \d+\)\n$/, dpRestart.stderr);
    await until('the restarted plugin registers', async () => (await plugins()) > pluginsBefore);
    t.match((await cli(['logs', 'device-plugin', '--node', 'node1'])).stdout, /^\[sriov-lab\] device plugin exited \((SIGTERM|0)\)$/m, 'the log shows the old plugin exit');
    t.equal(await phase('second'), 'Running', 'the pod keeps running through a device plugin restart');

    const numvfs = await cli(['node', 'exec', 'node1', '--', 'cat', '/sys/class/net/ens1f0/device/sriov_numvfs']);
    t.equal(numvfs.stdout, '1\n', 'node exec reads the simulated sysfs');
    const nf = await cli(['describe', 'pod', 'nope']);
    t.equal(nf.code, 1);
    t.equal(nf.stderr, 'Error from server (NotFound): pods "nope" not found\n');
    const noNode = await cli(['logs', 'kubelet', '--node', 'node9']);
    t.equal(noNode.stderr, 'Error from server (NotFound): nodes "node9" not found\n');
    t.equal(noNode.code, 1);

    const down = await cli(['down']);
    t.equal(down.code, 0, down.stderr);
    t.equal(down.stdout, 'simulated cluster stopped\n');
    t.notOk(isDaemonAlive(info!), 'the daemon is gone');
    const left = findLeftovers(info!);
    t.same(left.processes, [], 'no daemon, sysfs-server or plugin process is left');
    t.same(
      listNetns().filter((n) => info!.netns.some((o) => n.startsWith(o))),
      [],
      'no node or pod network namespace is left',
    );
    t.notOk(readFileSync('/proc/self/mounts', 'utf8').includes(info!.workDir), 'no mount under the work dir is left');
    t.notOk(existsSync(info!.workDir), 'the work dir is removed');
    t.notOk(existsSync(paths.info) || existsSync(paths.socket) || existsSync(paths.kubeconfig), 'the state files and the kubeconfig are removed');
    const after = await cli(['get', 'nodes']);
    t.equal(after.code, 1);
    t.match(after.stderr, /no simulated cluster is running/, 'commands after down say so');
  });
}
