// pods/log and pods/exec through @kubernetes/client-node's Log and Exec, against the API server over a Cluster whose
// in-process kubelet (FakeAgent) has its containers run by a ContainerRuntime on this machine (no namespaces, so
// no root): logs with tailLines, follow and previous, the apiserver's errors, exec with stdin and exit codes over
// the v5 channel protocol (and a tty), a restartPolicy OnFailure container restarted with its previous log kept.
import t, { type Test } from 'tap';
import { PassThrough, Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { CoreV1Api, Exec, KubeConfig, Log, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { Cluster } from '../cluster/cluster.ts';
import { ContainerRuntime } from '../cluster/containers.ts';
import { ExecSessions } from '../cluster/exec-sessions.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { ApiServer } from './server.ts';
import type { PodIo } from './pod-io.ts';

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

async function setUp(t: Test) {
  const cluster = new Cluster({ seed: 5 });
  cluster.addNode(new FakeAgent('node1', {}));
  const spawnHere = (argv: string[], o = {}) => spawn(argv[0], argv.slice(1), o);
  const containers = new ContainerRuntime({ spawn: spawnHere, report: (r) => cluster.containersReported(r), backoffMs: 50 });
  const execs = new ExecSessions(spawnHere);
  cluster.onPodAdmitted(async ({ pod }) => {
    containers.startPod(pod, () => [], () => ENV);
  });
  cluster.onPodReleased(async ({ pod }) => containers.stopPod(pod.metadata!.uid!, 500));
  const podIo: PodIo = {
    readLog: (pod, c, o) => containers.readLog(pod.metadata!.uid!, c, o),
    execStart: async (_pod, _c, argv, o) => execs.start({ enter: [], argv, env: ENV, ...o }),
    execInput: async (_pod, id, data, close) => execs.input(id, data, close),
    execRead: (_pod, id, waitMs) => execs.read(id, waitMs),
    execKill: async (_pod, id) => execs.kill(id),
  };
  const api = await ApiServer.start({ cluster, podIo });
  t.teardown(async () => {
    execs.killAll();
    await containers.stopAll(200);
    await api.close();
    cluster.close();
  });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  return { cluster, api, kc, core: kc.makeApiClient(CoreV1Api) };
}

const pod = (name: string, containers: Array<{ name: string; command?: string[] }>, restartPolicy = 'Always'): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { restartPolicy, containers: containers.map((c) => ({ image: 'busybox', ...c })) },
});

async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not reached after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (d: string) => (text += d));
  return { stream, text: () => text };
}

t.test('Log: whole, tailLines, follow until the container ends; the apiserver errors', async (t) => {
  const { core, cluster, kc } = await setUp(t);
  await core.createNamespacedPod({ namespace: 'default', body: pod('p', [{ name: 'c', command: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done'] }], 'Never') });
  await core.createNamespacedPod({ namespace: 'default', body: pod('two', [{ name: 'a' }, { name: 'b' }]) });
  await cluster.settle();
  const log = new Log(kc);
  const followed = collect();
  // the body is piped into the stream: its end is the end of the log
  const ended = new Promise((resolve) => followed.stream.once('finish', resolve));
  await log.log('default', 'p', 'c', followed.stream, { follow: true });
  await ended;
  t.equal(followed.text(), 'line1\nline2\nline3\n', 'follow streams every line and ends when the container does');
  await until('p Succeeded', () => cluster.store.get('Pod', 'default', 'p')?.status?.phase === 'Succeeded');
  const tail = await core.readNamespacedPodLog({ namespace: 'default', name: 'p', container: 'c', tailLines: 1 });
  t.equal(tail, 'line3\n', 'tailLines');
  const all = await core.readNamespacedPodLog({ namespace: 'default', name: 'p' });
  t.equal(all, 'line1\nline2\nline3\n', 'the only container is the default');

  const err = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'no error';
    } catch (e) {
      const body = (e as { body?: string }).body ?? '';
      return `${(e as { code?: number }).code} ${(JSON.parse(body) as V1Status).message}`;
    }
  };
  t.equal(await err(core.readNamespacedPodLog({ namespace: 'default', name: 'two' })), '400 a container name must be specified for pod two, choose one of: [a b]');
  t.equal(await err(core.readNamespacedPodLog({ namespace: 'default', name: 'two', container: 'x' })), '400 container x is not valid for pod two');
  t.equal(await err(core.readNamespacedPodLog({ namespace: 'default', name: 'p', previous: true })), '400 previous terminated container "c" in pod "p" not found');
  t.equal(await err(core.readNamespacedPodLog({ namespace: 'default', name: 'nope' })), '404 pods "nope" not found');
  t.equal(await core.readNamespacedPodLog({ namespace: 'default', name: 'two', container: 'a' }), '', 'a placeholder container has an empty log');
});

t.test('OnFailure: a failing container restarts with back-off; previous has the last instance', async (t) => {
  const { core, cluster } = await setUp(t);
  await core.createNamespacedPod({ namespace: 'default', body: pod('flaky', [{ name: 'c', command: ['sh', '-c', 'echo run; exit 2'] }], 'OnFailure') });
  await until('two restarts', () => (cluster.store.get('Pod', 'default', 'flaky')?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2);
  const st = cluster.store.get('Pod', 'default', 'flaky')!.status!;
  t.equal(st.phase, 'Running', 'OnFailure keeps a failing pod Running');
  t.equal(st.containerStatuses![0].lastState?.terminated?.exitCode, 2, 'lastState has the exit code');
  t.equal(await core.readNamespacedPodLog({ namespace: 'default', name: 'flaky', previous: true }), 'run\n');
  const events = cluster.store.list('Event').filter((e) => e.involvedObject?.name === 'flaky');
  t.ok(events.some((e) => e.reason === 'BackOff' && e.message === `Back-off restarting failed container c in pod flaky_default(${cluster.store.get('Pod', 'default', 'flaky')!.metadata!.uid})`), 'the kubelet\'s BackOff event');
  t.ok((events.find((e) => e.reason === 'Started')?.count ?? 0) >= 2, 'Started again at each restart');
  await core.createNamespacedPod({ namespace: 'default', body: pod('never', [{ name: 'c', command: ['sh', '-c', 'exit 4'] }], 'Never') });
  await until('never Failed', () => cluster.store.get('Pod', 'default', 'never')?.status?.phase === 'Failed');
  t.match(cluster.store.get('Pod', 'default', 'never')!.status!.containerStatuses![0].state?.terminated, { exitCode: 4, reason: 'Error' });
});

t.test('Exec over v5.channel.k8s.io: stdout, stderr, stdin, the status on the error channel', async (t) => {
  const { core, cluster, kc } = await setUp(t);
  await core.createNamespacedPod({ namespace: 'default', body: pod('p', [{ name: 'c' }]) });
  await cluster.settle();
  const run = async (command: string[], input?: string, tty = false) => {
    const out = collect();
    const err = collect();
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc).exec('default', 'p', 'c', command, out.stream, err.stream, input === undefined ? null : Readable.from([Buffer.from(input)]), tty, resolve).catch(reject);
    });
    await new Promise((r) => setImmediate(r));
    return { stdout: out.text(), stderr: err.text(), status };
  };
  const ok = await run(['sh', '-c', 'echo out; echo err >&2']);
  t.same(ok, { stdout: 'out\n', stderr: 'err\n', status: { metadata: {}, status: 'Success' } });
  const bad = await run(['sh', '-c', 'exit 3']);
  t.equal(bad.status.status, 'Failure');
  t.equal(bad.status.reason, 'NonZeroExitCode');
  t.same(bad.status.details?.causes, [{ reason: 'ExitCode', message: '3' }], 'the exit code as the ExitCode cause');
  const echoed = await run(['tr', 'a-z', 'A-Z'], 'piped in\n');
  t.equal(echoed.stdout, 'PIPED IN\n', 'stdin, closed by the close message, reaches the command');
  const tty = await run(['sh', '-c', 'tty; echo $TERM'], undefined, true);
  t.match(tty.stdout, /^\/dev\/pts\/\d+\r?\nxterm\r?\n$/, 'tty: the command has a pseudo-terminal (script(1))');
});
