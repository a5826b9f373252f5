// Real kubectl (the one at /usr/bin/kubectl, v1.32 here) against the simulated cluster's API server, over a whole
// LabCluster with simulated nodes: discovery, OpenAPI-delegated validation, create/apply/delete, server-side Tables,
// a pod asking for a VF that gets Running with net1, and the errors kubectl prints from the server's Status; pods
// running their commands: logs (-f, --tail), exec (eth0 and net1, stdin, the exit code), restartPolicy Never.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { entryCommand } from '../../sim/paths.ts';
import { parseTopology } from '../../sim/topology/topology.ts';
import { defaultConfigJson } from '../../plugins/device-plugin/config.ts';
import { SimNodeProvider } from '../backends/sim.ts';
import { LabCluster } from './lab-cluster.ts';
import { ONE_VF_TOPOLOGY, SRIOV_NAD, vfPod } from './fixtures/one-vf.ts';
import { KUBECTL, kubectlRunner } from '../../sim/apiserver/fixtures/kubectl.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);

const topology = parseTopology(ONE_VF_TOPOLOGY, 'one-vf.yaml');
const POD = vfPod('vf-pod');

const applied = (label: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: applied
  labels: {tier: ${label}}
spec:
  containers:
    - name: app
      image: ${image}
`;

/** prints three lines, the last a second later, and ends */
const PRINTER = `apiVersion: v1
kind: Pod
metadata: {name: printer}
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: busybox
      command: [sh, -c]
      args: ["echo one; echo two; sleep 1; echo three"]
`;

/** ignores SIGTERM: only the SIGKILL after its grace period ends it */
const STUBBORN = `apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: busybox
      command: [sh, -c, 'trap "" TERM; echo ready; sleep 4242; sleep 4242']
`;

/** no sandbox network: the node's own namespace */
const HOSTNET = `apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  hostNetwork: true
  containers:
    - name: main
      image: busybox
`;

if (!existsSync(KUBECTL)) {
  t.plan(0, `skipped: no kubectl at ${KUBECTL} (it does not come from a package registry; the CI image has it)`);
} else if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  t.test('kubectl against the simulated cluster', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'sl-kubectl-'));
    const provider = new SimNodeProvider({
      devicePluginArgv: [...entryCommand('sriov-lab-device-plugin', 'plugins/device-plugin/main.ts'), '--config-file', '/etc/pcidp/config.json'],
      devicePluginConfig: defaultConfigJson,
      cniPlugins: {},
    });
    const sc = await LabCluster.start(provider, { topology, seed: 3, workDir: join(work, 'nodes'), devicePlugin: {}, trace: () => undefined });
    t.teardown(async () => {
      await sc.stop();
      rmSync(work, { recursive: true, force: true });
    });
    const api = await sc.serveApi();
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfig(), { mode: 0o600 });
    const kubectl = kubectlRunner(kubeconfig, work);
    const file = (name: string, text: string) => {
      const p = join(work, name);
      writeFileSync(p, text);
      return p;
    };
    const until = async (what: string, f: () => Promise<boolean>, timeoutMs = 30_000) => {
      const t0 = Date.now();
      while (!(await f())) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not reached after ${timeoutMs}ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until('the VF advertised', async () => sc.cluster.store.get('Node', '', 'node1')?.status?.allocatable?.['intel.com/sriov_netdevice'] === '1');

    const nodes = await kubectl(['get', 'nodes']);
    t.equal(nodes.code, 0, nodes.stderr);
    t.match(nodes.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nnode1\s+Ready\s+<none>\s+\d+s\s+v1\.\d+\.\d+\n$/, 'get nodes: the real columns');

    const nad = await kubectl(['create', '-f', file('nad.yaml', SRIOV_NAD)]);
    t.equal(nad.stdout, 'networkattachmentdefinition.k8s.cni.cncf.io/sriov-net created\n', nad.stderr);
    const nads = await kubectl(['get', 'network-attachment-definitions.k8s.cni.cncf.io']);
    t.match(nads.stdout, /^NAME\s+AGE\nsriov-net\s+\d+s\n$/, 'the NAD by its full resource name');
    const byShort = await kubectl(['get', 'net-attach-def', 'sriov-net', '-o', 'jsonpath={.spec.config}']);
    t.match(byShort.stdout, /"type":"host-device"/, 'and by its short name');

    const created = await kubectl(['create', '-f', file('pod.yaml', POD)]);
    t.equal(created.stdout, 'pod/vf-pod created\n', created.stderr);
    await until('vf-pod Running', async () => (await kubectl(['get', 'pod', 'vf-pod', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running');
    const wide = await kubectl(['get', 'pods', '-o', 'wide']);
    t.match(wide.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/, 'the -o wide header');
    t.match(wide.stdout, /\nvf-pod\s+1\/1\s+Running\s+0\s+\d+s\s+10\.244\.0\.\d+\s+node1\s+<none>\s+<none>\n$/, 'the row: ready, running, its IP and node');
    const status = await kubectl(['get', 'pod', 'vf-pod', '-o', 'jsonpath={.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/network-status}']);
    t.match(JSON.parse(status.stdout), [{ interface: 'eth0' }, { name: 'default/sriov-net', interface: 'net1' }], 'net1 from the VF, as the network-status annotation says');
    const all = await kubectl(['get', 'pods', '-A']);
    t.match(all.stdout, /^NAMESPACE\s+NAME\s+READY/, '--all-namespaces adds the NAMESPACE column');
    t.match(all.stdout, /\ndefault\s+vf-pod\s+1\/1\s+Running/);

    // exec: the pod's network namespace (eth0 of the default network, net1 the VF), stdin, the exit code
    const ipA = await kubectl(['exec', 'vf-pod', '--', 'ip', 'a']);
    t.equal(ipA.code, 0, ipA.stderr);
    t.match(ipA.stdout, /^\d+: eth0@\S+: .*\n(.*\n)*\s+inet 10\.244\.0\.\d+\/24/m, 'eth0 with its address on the default network');
    t.match(ipA.stdout, /^\d+: net1(@\S+)?: .*\n(.*\n)*\s+inet 192\.168\.50\.\d+\/24/m, 'net1, the VF, with its address from the NAD');
    const exit3 = await kubectl(['exec', 'vf-pod', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.equal(exit3.code, 3, 'the exit code of the command is kubectl\'s');
    t.equal(exit3.stdout, 'out\n');
    t.match(exit3.stderr, /^err\ncommand terminated with exit code 3\n$/, 'stderr on its channel, then kubectl names the exit code');
    const cat = await kubectl(['exec', '-i', 'vf-pod', '--', 'sh', '-c', 'tr a-z A-Z; echo "[$HOSTNAME]"'], { input: 'hello\n' });
    t.equal(cat.stdout, 'HELLO\n[vf-pod]\n', 'stdin reaches the command, and its end (the close message) ends it');
    const noCmd = await kubectl(['exec', 'vf-pod', '--', 'no-such-command']);
    t.not(noCmd.code, 0, 'a command that does not exist fails');

    // logs of a pod whose command prints, followed until it ends; restartPolicy Never: Succeeded
    const printer = await kubectl(['create', '-f', file('printer.yaml', PRINTER)]);
    t.equal(printer.stdout, 'pod/printer created\n', printer.stderr);
    await until('printer started', async () => !!sc.cluster.store.get('Pod', 'default', 'printer')?.status?.containerStatuses?.[0]?.containerID);
    const followed = await kubectl(['logs', '-f', 'printer']);
    t.equal(followed.stdout, 'one\ntwo\nthree\n', 'logs -f gives every line and ends with the container');
    await until('printer Succeeded', async () => sc.cluster.store.get('Pod', 'default', 'printer')?.status?.phase === 'Succeeded');
    const done = await kubectl(['get', 'pod', 'printer', '-o', 'jsonpath={.status.containerStatuses[0].state.terminated.reason} {.status.containerStatuses[0].state.terminated.exitCode}']);
    t.equal(done.stdout, 'Completed 0');
    t.equal((await kubectl(['logs', 'printer'])).stdout, 'one\ntwo\nthree\n', 'a completed pod\'s logs are kept');
    t.equal((await kubectl(['logs', 'printer', '--tail=2'])).stdout, 'two\nthree\n', '--tail');
    const events = await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=printer', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    t.match(events.stdout, /Pulled: Container image "busybox" already present on machine\nCreated: Created container: main\nStarted: Started container main\n/, 'the kubelet\'s events of a container start');
    const completedExec = await kubectl(['exec', 'printer', '--', 'true']);
    t.match(completedExec.stderr, /cannot exec into a container in a completed pod; current phase is Succeeded/);

    // hostNetwork: the node's namespace (its PF netdev), the node's address
    t.equal((await kubectl(['create', '-f', file('hostnet.yaml', HOSTNET)])).code, 0);
    await until('hostnet Running', async () => (await kubectl(['get', 'pod', 'hostnet', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running');
    const links = await kubectl(['exec', 'hostnet', '--', 'ip', '-o', 'link', 'show']);
    t.match(links.stdout, /^\d+: ens1f0[:@]/m, 'a hostNetwork pod sees the node\'s netdevs');
    t.notMatch(links.stdout, /: eth0@/, 'and has no eth0 of its own');
    t.equal((await kubectl(['get', 'pod', 'hostnet', '-o', 'jsonpath={.status.podIP}'])).stdout, '172.18.0.2', 'its IP is the node\'s');
    t.equal((await kubectl(['delete', 'pod', 'hostnet'])).code, 0);

    // delete: SIGTERM, then SIGKILL after the grace period; no process is left behind
    t.equal((await kubectl(['create', '-f', file('stubborn.yaml', STUBBORN)])).code, 0);
    await until('stubborn ready', async () => (await kubectl(['logs', 'stubborn'])).stdout === 'ready\n');
    t.equal(spawnSync('pgrep', ['-f', 'sleep 4242']).status, 0, 'its process runs');
    const t0 = Date.now();
    t.equal((await kubectl(['delete', 'pod', 'stubborn'])).code, 0);
    t.ok(Date.now() - t0 >= 900, 'the delete waited for the grace period');
    t.not(spawnSync('pgrep', ['-f', 'sleep 4242']).status, 0, 'and the process is gone');
    await kubectl(['delete', 'pod', 'printer']);

    const first = await kubectl(['apply', '-f', file('applied.yaml', applied('a', 'busybox:1'))]);
    t.equal(first.stdout, 'pod/applied created\n', first.stderr);
    const same = await kubectl(['apply', '-f', join(work, 'applied.yaml')]);
    t.equal(same.stdout, 'pod/applied unchanged\n', 'a second apply of the same file changes nothing');
    const second = await kubectl(['apply', '-f', file('applied.yaml', applied('b', 'busybox:2')), '-v=6']);
    t.match(second.stdout, /^pod\/applied configured\n$/);
    t.match(second.stderr, /PATCH https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/default\/pods\/applied\?fieldManager=kubectl-client-side-apply&fieldValidation=Strict 200 OK/, 'the second apply is a PATCH');
    const after = await kubectl(['get', 'pod', 'applied', '-o', 'jsonpath={.metadata.labels.tier} {.spec.containers[0].image} {.spec.containers[0].terminationMessagePath}']);
    t.equal(after.stdout, 'b busybox:2 /dev/termination-log', 'the strategic merge patch changed label and image, kept the defaulted fields');

    const bad = await kubectl(['create', '-f', file('bad.yaml', POD.replace('vf-pod', 'bad').replace('image: busybox', 'image: busybox\n      foo: bar'))]);
    t.equal(bad.code, 1);
    t.equal(bad.stderr, 'Error from server (BadRequest): error when creating "' + join(work, 'bad.yaml') + '": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].foo"\n');
    const noName = await kubectl(['create', '-f', file('noname.yaml', POD.replace('  name: vf-pod\n', ''))]);
    t.equal(noName.code, 1);
    t.match(noName.stderr, /The Pod "" is invalid: metadata\.name: Required value: name or generateName is required/);
    const again = await kubectl(['create', '-f', join(work, 'pod.yaml')]);
    t.match(again.stderr, /Error from server \(AlreadyExists\): error when creating ".*pod\.yaml": pods "vf-pod" already exists/);
    const absent = await kubectl(['get', 'pod', 'nope']);
    t.equal(absent.stderr, 'Error from server (NotFound): pods "nope" not found\n');

    const del = await kubectl(['delete', 'pod', 'vf-pod', 'applied']);
    t.equal(del.stdout, 'pod "vf-pod" deleted\npod "applied" deleted\n', del.stderr);
    const none = await kubectl(['get', 'pods']);
    t.equal(none.stderr, 'No resources found in default namespace.\n', 'kubectl waited until both were gone');
    t.equal(sc.cluster.store.count('Pod'), 0);
    t.equal(sc.cluster.store.get('Node', '', 'node1')?.status?.allocatable?.['intel.com/sriov_netdevice'], '1', 'the VF is back');

    // no client certificate, no token: 401 with a Status
    const unauthorized = await new Promise<{ code?: number; body: string }>((resolve, reject) => {
      const req = request(`${api.url}/api/v1/namespaces/default/pods`, { ca: api.pki.caCert }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    t.equal(unauthorized.code, 401);
    t.same(JSON.parse(unauthorized.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const byToken = (token: string) => kubectl(['get', 'nodes', '-o', 'name', '--server', api.url, '--certificate-authority', file('ca.crt', api.pki.caCert), '--token', token], { kubeconfig: file('empty', '') });
    t.equal((await byToken(api.pki.token)).stdout, 'node/node1\n', 'the bearer token is the admin too');
    const wrongToken = await byToken('not-the-token');
    t.match(wrongToken.stderr, /Unauthorized/, 'a wrong token is refused');
  });
}
