// The kubelet's pod lifecycle as the control plane drives it (docs/lifecycle.md): a failed sandbox keeps the pod
// Pending and is retried after the pod worker's back-off on the kubelets' clock, with FailedCreatePodSandBox
// events aggregated as the event recorder does; a deletion goes containers → devices → sandbox → object.
import t from 'tap';
import type { Test } from 'tap';
import { Cluster, POD_WORKER_BACKOFF_JITTER, POD_WORKER_BACKOFF_MS, PodStartError } from './cluster.ts';
import { AGGREGATE_MAX_EVENTS, COMBINED_PREFIX, EventCorrelator } from './events.ts';
import { FakeAgent } from './fake-agent.ts';
import { ManualClock } from '../kubelet/clock.ts';

const RES = 'intel.com/sriov_net_a';
const MAX_BACKOFF_MS = POD_WORKER_BACKOFF_MS * (1 + POD_WORKER_BACKOFF_JITTER);

function setup(t: Test, devices = 1) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const cluster = new Cluster({ seed: 3, clock, kubeletClock: clock });
  t.teardown(() => cluster.close());
  const agent = new FakeAgent('node-1', { [RES]: devices });
  cluster.addNode(agent);
  return { clock, cluster, agent };
}

const pod = (name: string, grace?: number) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { ...(grace !== undefined ? { terminationGracePeriodSeconds: grace } : {}), containers: [{ name: 'app', image: 'busybox', resources: { limits: { [RES]: '1' } } }] },
});

t.test('a failed sandbox: Pending (ContainerCreating), device kept, retried after 10–15 s until it works', async (t) => {
  const { clock, cluster, agent } = setup(t);
  let failures = 3;
  const attempts: number[] = [];
  cluster.onPodAdmitted(async () => {
    attempts.push(clock.now());
    if (failures-- > 0) throw new PodStartError('FailedCreatePodSandBox', `rpc error: code = Unknown desc = failed to setup network for sandbox "${attempts.length}": boom`);
    return {};
  });
  cluster.createPod(pod('p'));
  await cluster.settle();
  const p = cluster.store.mustGet('Pod', 'default', 'p');
  t.equal(p.status?.phase, 'Pending');
  t.same(p.status?.containerStatuses?.map((c) => c.state?.waiting?.reason), ['ContainerCreating']);
  t.match(p.status?.conditions?.find((c) => c.type === 'Ready'), { status: 'False', reason: 'ContainersNotReady' });
  t.same(agent.devicesOf(p.metadata!.uid!), ['sriov_net_a-0'], 'the device stays allocated to the pod');
  t.same(agent.calls.map((c) => c.op), ['admit'], 'admitted once, never released');
  t.equal(attempts.length, 1);

  clock.advance(POD_WORKER_BACKOFF_MS - 1);
  await cluster.settle();
  t.equal(attempts.length, 1, 'no attempt before the back-off');
  for (let i = 0; i < 3; i++) {
    clock.advance(MAX_BACKOFF_MS);
    await cluster.settle();
  }
  t.equal(attempts.length, 4);
  for (let i = 1; i < attempts.length; i++) {
    const gap = attempts[i] - attempts[i - 1];
    t.ok(gap >= POD_WORKER_BACKOFF_MS && gap <= MAX_BACKOFF_MS + POD_WORKER_BACKOFF_MS, `attempt ${i} after ${gap} ms`);
  }
  t.equal(cluster.store.mustGet('Pod', 'default', 'p').status?.phase, 'Running');
  const failed = cluster.eventsFor('Pod', 'default', 'p').filter((e) => e.reason === 'FailedCreatePodSandBox');
  t.same(failed.map((e) => e.message), [1, 2, 3].map((n) => `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${n}": boom`));
  t.ok(failed.every((e) => e.type === 'Warning' && e.source?.component === 'kubelet' && e.source.host === 'node-1'));
  t.same(agent.calls.map((c) => c.op), ['admit'], 'retries do not go through admission again');
});

t.test('the same failure message again: one event, count and lastTimestamp grow', async (t) => {
  const { clock, cluster } = setup(t);
  cluster.onPodAdmitted(async () => {
    throw new PodStartError('FailedCreatePodSandBox', 'always the same');
  });
  cluster.createPod(pod('p'));
  await cluster.settle();
  const first = clock.now();
  for (let i = 0; i < 2; i++) {
    clock.advance(MAX_BACKOFF_MS);
    await cluster.settle();
  }
  const evs = cluster.eventsFor('Pod', 'default', 'p').filter((e) => e.reason === 'FailedCreatePodSandBox');
  t.equal(evs.length, 1);
  t.equal(evs[0].count, 3);
  t.equal(evs[0].firstTimestamp?.getTime(), first);
  t.ok(evs[0].lastTimestamp!.getTime() >= first + 2 * POD_WORKER_BACKOFF_MS);
});

t.test('deleting a pod that is backing off cancels the next attempt and releases its devices', async (t) => {
  const { clock, cluster, agent } = setup(t);
  let attempts = 0;
  cluster.onPodAdmitted(async () => {
    attempts++;
    throw new PodStartError('FailedCreatePodSandBox', 'no');
  });
  const released: string[] = [];
  cluster.onPodReleased(async ({ pod }) => void released.push(pod.metadata!.name!));
  cluster.createPod(pod('p'));
  await cluster.settle();
  await cluster.deletePod('default', 'p');
  clock.advance(10 * MAX_BACKOFF_MS);
  await cluster.settle();
  t.equal(attempts, 1);
  t.same(released, ['p'], 'the sandbox teardown runs (its failed attempts may have left something)');
  t.same(agent.calls.map((c) => c.op), ['admit', 'release']);
  t.equal(clock.pending(), 0, 'no timer left');
});

t.test('the event correlator: identical → count, ten distinct similar → one combined event', async (t) => {
  const c = new EventCorrelator();
  const id = { component: 'kubelet', host: 'n', kind: 'Pod', namespace: 'default', name: 'p', uid: 'u', type: 'Warning', reason: 'FailedCreatePodSandBox' };
  const a = c.correlate(id, 'm0', 0);
  t.same(c.correlate(id, 'm0', 1), a, 'the same message goes to the same event');
  const keys = [a.key];
  for (let i = 1; i < AGGREGATE_MAX_EVENTS - 1; i++) keys.push(c.correlate(id, `m${i}`, i).key);
  t.equal(new Set(keys).size, AGGREGATE_MAX_EVENTS - 1, 'nine distinct messages are nine events');
  const tenth = c.correlate(id, 'm9', 20);
  t.equal(tenth.message, `${COMBINED_PREFIX}m9`);
  const eleventh = c.correlate(id, 'm10', 21);
  t.equal(eleventh.key, tenth.key, 'the ones after it go to the same combined event');
  t.equal(eleventh.message, `${COMBINED_PREFIX}m10`);
  t.not(c.correlate({ ...id, reason: 'Other' }, 'm11', 22).key, tenth.key, 'another reason is not similar');
  t.not(c.correlate(id, 'm12', 22 + 600_001).message.startsWith(COMBINED_PREFIX), true, 'after 10 minutes the count starts over');
});

t.test('ten sandbox attempts with new sandbox IDs: kubectl sees "(combined from similar events)" with a count', async (t) => {
  const { clock, cluster } = setup(t);
  let n = 0;
  cluster.onPodAdmitted(async () => {
    throw new PodStartError('FailedCreatePodSandBox', `failed to setup network for sandbox "${++n}"`);
  });
  cluster.createPod(pod('p'));
  await cluster.settle();
  for (let i = 0; i < 11; i++) {
    clock.advance(MAX_BACKOFF_MS);
    await cluster.settle();
  }
  const evs = cluster.eventsFor('Pod', 'default', 'p').filter((e) => e.reason === 'FailedCreatePodSandBox');
  t.equal(evs.length, AGGREGATE_MAX_EVENTS);
  const combined = evs.find((e) => e.message?.startsWith(COMBINED_PREFIX));
  t.equal(combined?.count, 12 - (AGGREGATE_MAX_EVENTS - 1));
  t.match(combined?.message, /sandbox "12"$/, 'the combined event carries the latest message');
});

t.test('deletion order: Terminating with the grace period → containers stopped → devices free → sandbox teardown → gone, and only then the waiting pod bound', async (t) => {
  const { clock, cluster, agent } = setup(t);
  const order: string[] = [];
  cluster.onPodAdmitted(async ({ pod }) => {
    order.push(`sandbox ${pod.metadata!.name}`);
    return {};
  });
  let finishKill!: () => void;
  cluster.onPodKill(async ({ pod, gracePeriodSeconds }) => {
    order.push(`kill ${pod.metadata!.name} grace ${gracePeriodSeconds}`);
    await new Promise<void>((r) => (finishKill = r));
  });
  let finishDel!: () => void;
  cluster.onPodReleased(async ({ pod }) => {
    order.push(`teardown ${pod.metadata!.name} (${pod.metadata?.deletionTimestamp ? 'Terminating' : 'not terminating'})`);
    await new Promise<void>((r) => (finishDel = r));
  });
  cluster.createPod(pod('a', 7));
  await cluster.settle();
  cluster.createPod(pod('b'));
  await cluster.settle();
  t.equal(cluster.store.mustGet('Pod', 'default', 'b').status?.phase, 'Pending', 'b waits for the only device');

  const now = clock.now();
  await cluster.deletePod('default', 'a', { wait: false });
  const a = cluster.store.mustGet('Pod', 'default', 'a');
  t.equal(a.metadata?.deletionGracePeriodSeconds, 7);
  t.equal(a.metadata?.deletionTimestamp?.getTime(), now + 7000, 'deletionTimestamp is when the grace period ends');
  await new Promise((r) => setImmediate(r));
  t.same(order.slice(-1), ['kill a grace 7']);
  t.same(agent.calls.map((c) => c.op), ['admit'], 'the devices are held while the containers stop');
  finishKill();
  await cluster.settle();
  // the device is free on the node, but the scheduler still counts a's request while a is Terminating: b is bound
  // only once a's object is gone, after its CNI DEL (kube-scheduler drops a pod's requests on its delete event)
  t.same(order, ['sandbox a', 'kill a grace 7', 'teardown a (Terminating)']);
  t.ok(cluster.store.get('Pod', 'default', 'a'), 'a is still there while its sandbox is torn down');
  t.equal(cluster.store.mustGet('Pod', 'default', 'b').status?.phase, 'Pending', 'b waits while a\'s CNI DEL runs');
  t.same(agent.calls.map((c) => c.op), ['admit', 'release'], 'a\'s devices are released on the node before the teardown');
  finishDel();
  await cluster.deletionsDone();
  await cluster.settle();
  t.same(order.slice(3), ['sandbox b'], 'b\'s sandbox comes after a\'s teardown');
  t.equal(cluster.store.mustGet('Pod', 'default', 'b').status?.phase, 'Running');
  t.same(agent.calls.map((c) => c.op), ['admit', 'release', 'admit']);
  t.equal(cluster.store.get('Pod', 'default', 'a'), undefined, 'gone once the teardown is done');
});

t.test('a teardown that fails does not keep the object: the kubelet goes on', async (t) => {
  const { cluster } = setup(t);
  cluster.onPodAdmitted(async () => ({}));
  cluster.onPodReleased(async () => {
    throw new Error('DEL failed');
  });
  cluster.createPod(pod('a'));
  await cluster.settle();
  await cluster.deletePod('default', 'a');
  t.equal(cluster.store.get('Pod', 'default', 'a'), undefined);
  await t.rejects(cluster.settle(), /DEL failed/, 'the failure is reported, not swallowed');
});
