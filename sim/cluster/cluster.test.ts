import t from 'tap';
import { Cluster, PodStartError } from './cluster.ts';
import { FakeAgent } from './fake-agent.ts';
import { describeNodeOf, describePodOf, getPods } from './fixtures/print.ts';
import { ManifestError } from './manifest.ts';
import { ManualClock } from '../kubelet/clock.ts';

const RES = 'intel.com/sriov_net_a';

function clock(startMs = Date.UTC(2026, 0, 1, 12, 0, 0)) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const podYaml = (name: string, count = 1) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: app
    image: busybox
    resources:
      limits:
        ${RES}: ${count}
`;

t.test('two pods need the only device: the second stays Pending until the first is deleted', async (t) => {
  const c = clock();
  const cluster = new Cluster({ seed: 1, clock: c });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: 1 });
  cluster.addNode(agent);
  cluster.applyManifest(podYaml('pod-a'), 'a.yaml');
  await cluster.settle();
  cluster.applyManifest(podYaml('pod-b'), 'b.yaml');
  await cluster.settle();

  const a = cluster.store.mustGet('Pod', 'default', 'pod-a');
  const b = cluster.store.mustGet('Pod', 'default', 'pod-b');
  t.equal(a.status?.phase, 'Running');
  t.equal(a.spec?.nodeName, 'node-1');
  t.same(agent.devicesOf(a.metadata!.uid!), ['sriov_net_a-0']);
  t.equal(b.status?.phase, 'Pending');
  const msg = `0/1 nodes are available: 1 Insufficient ${RES}.`;
  const cond = b.status?.conditions?.find((x) => x.type === 'PodScheduled');
  t.match(cond, { status: 'False', reason: 'Unschedulable', message: msg });
  c.advance(5000);
  const desc = describePodOf(cluster, 'default', 'pod-b');
  t.match(desc, /\nStatus:\s+Pending\n/);
  t.match(desc, `  Warning  FailedScheduling  5s    default-scheduler  ${msg}\n`);
  t.match(getPods(cluster), /pod-a\s+1\/1\s+Running\s+0\s+5s\n/);
  t.match(getPods(cluster), /pod-b\s+0\/1\s+Pending\s+0\s+5s\n/);

  await cluster.deletePod('default', 'pod-a');
  await cluster.settle();
  t.equal(cluster.store.get('Pod', 'default', 'pod-a'), undefined);
  const b2 = cluster.store.mustGet('Pod', 'default', 'pod-b');
  t.equal(b2.status?.phase, 'Running');
  t.same(agent.devicesOf(b2.metadata!.uid!), ['sriov_net_a-0']);
  t.same(
    agent.calls.map((x) => x.op),
    ['admit', 'release', 'admit'],
    'pod-b reached the kubelet only after pod-a was released',
  );
  const events = cluster.eventsFor('Pod', 'default', 'pod-b').map((e) => e.reason);
  t.same(events, ['FailedScheduling', 'Scheduled', 'Pulled', 'Created', 'Started']);
});

t.test('a repeated FailedScheduling bumps the count and describe shows (xN over …)', async (t) => {
  const c = clock();
  const cluster = new Cluster({ seed: 1, clock: c });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: 1 });
  cluster.addNode(agent);
  cluster.applyManifest(podYaml('pod-a', 2), 'a.yaml');
  await cluster.settle();
  c.advance(60_000);
  agent.setUnhealthy(RES, []); // a resource update retries the pending pod: same failure again
  await cluster.settle();
  c.advance(10_000);
  const ev = cluster.eventsFor('Pod', 'default', 'pod-a');
  t.equal(ev.length, 1);
  t.equal(ev[0].count, 2);
  t.match(describePodOf(cluster, 'default', 'pod-a'), /FailedScheduling {2}10s \(x2 over 70s\) {2}default-scheduler/);
});

t.test('allocatable rising retries Pending pods; the pod with preemptionMessage', async (t) => {
  const cluster = new Cluster({ seed: 3, clock: clock(), preemptionMessage: true });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: 2 });
  agent.setUnhealthy(RES, ['sriov_net_a-0', 'sriov_net_a-1']);
  cluster.addNode(agent);
  t.same(cluster.store.mustGet('Node', '', 'node-1').status?.allocatable?.[RES], '0');
  t.same(cluster.store.mustGet('Node', '', 'node-1').status?.capacity?.[RES], '2');
  cluster.applyManifest(podYaml('p'), 'p.yaml');
  await cluster.settle();
  const p = cluster.store.mustGet('Pod', 'default', 'p');
  t.equal(
    p.status?.conditions?.[0].message,
    `0/1 nodes are available: 1 Insufficient ${RES}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`,
  );
  agent.setUnhealthy(RES, ['sriov_net_a-0']);
  await cluster.settle();
  t.equal(cluster.store.mustGet('Pod', 'default', 'p').status?.phase, 'Running');
  t.same(cluster.allocationsOf('default', 'p')[0].deviceIds, ['sriov_net_a-1']);
});

t.test('admission failure: Failed with the agent reason, message prefixed like kubelet rejectPod', async (t) => {
  const cluster = new Cluster({ seed: 1, clock: clock() });
  t.teardown(() => cluster.close());
  // the node advertises 1 but the agent holds no free device: scheduler and kubelet disagree (stale status)
  const agent = new FakeAgent('node-1', { [RES]: 1 });
  cluster.addNode(agent);
  await agent.admitPod({ uid: 'ghost', name: 'ghost', namespace: 'default', initContainers: [], containers: [{ name: 'x', limits: { [RES]: '1' }, requests: { [RES]: '1' } }] });
  cluster.applyManifest(podYaml('p'), 'p.yaml');
  await cluster.settle();
  const p = cluster.store.mustGet('Pod', 'default', 'p');
  t.equal(p.status?.phase, 'Failed');
  t.equal(p.status?.reason, 'UnexpectedAdmissionError');
  const err = `Allocate failed due to requested number of devices unavailable for ${RES}. Requested: 1, Available: 0, which is unexpected`;
  t.equal(p.status?.message, `Pod was rejected: ${err}`);
  t.match(getPods(cluster), /p\s+0\/1\s+UnexpectedAdmissionError\s+0/);
  const ev = cluster.eventsFor('Pod', 'default', 'p').find((e) => e.reason === 'UnexpectedAdmissionError');
  t.equal(ev?.message, err);
  t.equal(ev?.source?.component, 'kubelet');
  t.same(agent.calls.filter((x) => x.podUid === p.metadata!.uid).map((x) => x.op), ['admit', 'release']);
});

t.test('onPodAdmitted hook: patches the pod, or keeps it Pending; onPodReleased runs on delete', async (t) => {
  const cluster = new Cluster({ seed: 1, clock: clock(), kubeletClock: new ManualClock() });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: 4 });
  cluster.addNode(agent);
  const released: string[] = [];
  cluster.onPodAdmitted(async ({ pod, allocations }) => {
    if (pod.metadata?.name === 'bad') throw new PodStartError('FailedCreatePodSandBox', 'network "sriov-net" not found');
    return { annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(allocations.map((a) => a.deviceIds)) }, podIP: '10.0.0.5' };
  });
  cluster.onPodReleased(async ({ pod }) => void released.push(pod.metadata!.name!));
  cluster.applyManifest(podYaml('good') + '---\n' + podYaml('bad'), 'two.yaml');
  await cluster.settle();
  const good = cluster.store.mustGet('Pod', 'default', 'good');
  t.equal(good.status?.phase, 'Running');
  t.equal(good.status?.podIP, '10.0.0.5');
  t.equal(good.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'], '[["sriov_net_a-0"]]');
  const bad = cluster.store.mustGet('Pod', 'default', 'bad');
  t.equal(bad.status?.phase, 'Pending', 'a pod whose sandbox fails stays Pending');
  t.equal(cluster.eventsFor('Pod', 'default', 'bad').find((e) => e.reason === 'FailedCreatePodSandBox')?.message, 'Failed to create pod sandbox: network "sriov-net" not found');
  t.same(agent.devicesOf(bad.metadata!.uid!), ['sriov_net_a-1'], 'its devices stay allocated');
  await cluster.deletePod('default', 'good');
  await cluster.deletePod('default', 'bad');
  t.same(released.sort(), ['bad', 'good']);
  t.same(agent.devicesOf(bad.metadata!.uid!), []);
});

t.test('completePod frees the devices for the next pod; a succeeded pod shows Completed', async (t) => {
  const cluster = new Cluster({ seed: 1, clock: clock() });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: 1 });
  cluster.addNode(agent);
  cluster.applyManifest(podYaml('job') + '---\n' + podYaml('next'), 'x.yaml');
  await cluster.settle();
  t.equal(cluster.store.mustGet('Pod', 'default', 'next').status?.phase, 'Pending');
  await cluster.completePod('default', 'job', 'Succeeded');
  await cluster.settle();
  t.match(getPods(cluster), /job\s+0\/1\s+Completed/);
  t.equal(cluster.store.mustGet('Pod', 'default', 'next').status?.phase, 'Running');
  await t.rejects(cluster.completePod('default', 'job', 'Failed'), /is not Running/);
});

t.test('applyManifest validates before applying anything and names file, line and field', async (t) => {
  const cluster = new Cluster({ seed: 1, clock: clock() });
  t.teardown(() => cluster.close());
  cluster.addNode(new FakeAgent('node-1', { [RES]: 1 }));
  const text = `${podYaml('fine')}---
apiVersion: v1
kind: Pod
metadata:
  name: half
spec:
  containers:
  - name: app
    resources:
      limits:
        ${RES}: 500m
`;
  const err = t.throws(() => cluster.applyManifest(text, 'pods.yaml')) as ManifestError;
  t.type(err, ManifestError);
  // the apiserver defaults the request from the limit, then rejects both
  t.equal(err.issues.length, 2);
  t.match(err.issues[0], { file: 'pods.yaml', line: 22, column: 9, field: `spec.containers[0].resources.limits[${RES}]` });
  t.equal(
    err.message,
    `pods.yaml:22:9: spec.containers[0].resources.limits[${RES}]: Invalid value: "500m": must be an integer (Pod "half" is invalid)\n` +
      `pods.yaml:20:5: spec.containers[0].resources.requests[${RES}]: Invalid value: "500m": must be an integer (Pod "half" is invalid)`,
  );
  t.equal(cluster.store.count('Pod'), 0, 'nothing applied');
});

t.test('node status follows the agent; describe node shows capacity, allocatable and allocated resources', async (t) => {
  const c = clock();
  const cluster = new Cluster({ seed: 1, clock: c });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: 4, 'intel.com/sriov_net_b': 2 });
  cluster.addNode(agent, { cpu: '4', memory: '8Gi', pods: '110', internalIP: '172.18.0.2' });
  cluster.applyManifest(
    `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    resources:
      requests: {cpu: 500m, memory: 1Gi}
      limits: {cpu: "1", memory: 2Gi, ${RES}: 2}
`,
    'web.yaml',
  );
  await cluster.settle();
  agent.setUnhealthy(RES, ['sriov_net_a-3']);
  c.advance(90_000);
  const out = describeNodeOf(cluster, 'node-1');
  const section = out.slice(out.indexOf('Capacity:'), out.indexOf('System Info:'));
  t.equal(
    section,
    `Capacity:
  cpu:                    4
  intel.com/sriov_net_a:  4
  intel.com/sriov_net_b:  2
  memory:                 8Gi
  pods:                   110
Allocatable:
  cpu:                    4
  intel.com/sriov_net_a:  3
  intel.com/sriov_net_b:  2
  memory:                 8Gi
  pods:                   110
`,
  );
  const rest = out.slice(out.indexOf('Non-terminated Pods:'));
  t.equal(
    rest,
    `Non-terminated Pods:          (1 in total)
  Namespace                   Name    CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----    ------------  ----------  ---------------  -------------  ---
  default                     web     500m (12%)    1 (25%)     1Gi (12%)        2Gi (25%)      90s
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource               Requests    Limits
  --------               --------    ------
  cpu                    500m (12%)  1 (25%)
  memory                 1Gi (12%)   2Gi (25%)
  ephemeral-storage      0 (0%)      0 (0%)
  intel.com/sriov_net_a  2           2
  intel.com/sriov_net_b  0           0
Events:                  <none>
`,
  );
  t.match(out, /^Name: {15}node-1\nRoles: {14}<none>\nLabels: {13}beta\.kubernetes\.io\/arch=amd64\n {20}beta\.kubernetes\.io\/os=linux\n/);
});
