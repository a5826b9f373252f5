import t from 'tap';
import { parse } from 'yaml';
import { Cluster } from './cluster.ts';
import { FakeAgent } from './fake-agent.ts';
import { get, getPods } from './fixtures/print.ts';
import { humanDuration } from './kubectl.ts';
import { TabWriter } from './tabwriter.ts';

t.test('tabwriter: column blocks like Go text/tabwriter', async (t) => {
  const w = new TabWriter(0, 2);
  w.write('a:\tx\nlonger:\ty\nbreak\n  k:\tv\n');
  t.equal(w.toString(), 'a:       x\nlonger:  y\nbreak\n  k:  v\n');
  const tw = new TabWriter(6, 3);
  tw.write('NAME\tAGE\nab\t5s\n');
  t.equal(tw.toString(), 'NAME   AGE\nab     5s\n', 'minwidth 6, padding 3');
});

t.test('humanDuration', async (t) => {
  const s = 1000;
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [150 * s, '2m30s'],
    [15 * 60 * s, '15m'],
    [3 * 3600 * s + 5 * 60 * s, '3h5m'],
    [10 * 3600 * s, '10h'],
    [50 * 3600 * s, '2d2h'],
    [30 * 86400 * s, '30d'],
  ];
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want);
});

t.test('get pods / nodes / net-attach-def tables, wide, yaml, json', async (t) => {
  let now = Date.UTC(2026, 0, 1);
  const cluster = new Cluster({ seed: 9, clock: { now: () => now } });
  t.teardown(() => cluster.close());
  cluster.addNode(new FakeAgent('worker-1', { 'intel.com/x': 1 }), { internalIP: '172.18.0.2', labels: { 'node-role.kubernetes.io/worker': '' } });
  cluster.applyManifest(
    `apiVersion: v1
kind: Pod
metadata: {name: first}
spec: {containers: [{name: c, image: busybox, resources: {limits: {intel.com/x: 1}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: second-pod}
spec: {containers: [{name: c, image: busybox, resources: {limits: {intel.com/x: 1}}}]}
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: sriov-net}
spec: {config: '{}'}
`,
    'x.yaml',
  );
  await cluster.settle();
  now += 65_000;
  t.equal(getPods(cluster), 'NAME         READY   STATUS    RESTARTS   AGE\nfirst        1/1     Running   0          65s\nsecond-pod   0/1     Pending   0          65s\n');
  t.equal(
    getPods(cluster, { output: 'wide' }),
    'NAME         READY   STATUS    RESTARTS   AGE   IP       NODE       NOMINATED NODE   READINESS GATES\n' +
      'first        1/1     Running   0          65s   <none>   worker-1   <none>           <none>\n' +
      'second-pod   0/1     Pending   0          65s   <none>   <none>     <none>           <none>\n',
  );
  t.equal(get(cluster, 'Node'), 'NAME       STATUS   ROLES    AGE   VERSION\nworker-1   Ready    worker   65s   v1.34.0\n');
  t.match(get(cluster, 'Node', { output: 'wide' }), /^NAME {7}STATUS {3}ROLES {4}AGE {3}VERSION {3}INTERNAL-IP {3}EXTERNAL-IP {3}OS-IMAGE/);
  t.equal(get(cluster, 'NetworkAttachmentDefinition'), 'NAME        AGE\nsriov-net   65s\n');
  t.equal(getPods(cluster, { namespace: 'other' }), 'No resources found in other namespace.\n');
  t.match(getPods(cluster, { allNamespaces: true }), /^NAMESPACE   NAME {9}READY/);

  const one = parse(getPods(cluster, { output: 'yaml', names: ['first'] }));
  t.match(one, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'first', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' } });
  t.match(one.status, { phase: 'Running', hostIP: '172.18.0.2' });
  const list = JSON.parse(get(cluster, 'Pod', { output: 'json' }));
  t.equal(list.kind, 'List');
  t.same(list.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['first', 'second-pod']);
  t.same(Object.keys(list.items[0]), ['apiVersion', 'kind', 'metadata', 'spec', 'status'], 'keys sorted like kubectl');
  t.match(get(cluster, 'Pod', { output: 'json' }), /^\{\n {4}"apiVersion": "v1",/, '4-space JSON indent');
  t.match(get(cluster, 'Event'), /Warning {3}FailedScheduling {3}pod\/second-pod {3}0\/1 nodes are available: 1 Insufficient intel\.com\/x\./);
  t.throws(() => getPods(cluster, { names: ['nope'] }), { message: 'pods "nope" not found' });
});
