import t from 'tap';
import { ObjectStore, StoreError } from './store.ts';
import { ManifestError, parseManifests } from './manifest.ts';

t.test('create/get/update/delete with resourceVersion, uid, creationTimestamp and watches', async (t) => {
  let now = Date.UTC(2026, 0, 1);
  const store = new ObjectStore({ clock: { now: () => now }, seed: 5 });
  const seen: string[] = [];
  const stop = store.watch('Pod', {
    added: (p) => seen.push(`added ${p.metadata?.name} rv=${p.metadata?.resourceVersion}`),
    modified: (p, old) => seen.push(`modified ${p.metadata?.name} ${old.metadata?.labels?.v}->${p.metadata?.labels?.v}`),
    deleted: (p) => seen.push(`deleted ${p.metadata?.name}`),
  });
  const a = store.create('Pod', { metadata: { name: 'a', labels: { v: '1' } }, spec: { containers: [] } });
  t.equal(a.metadata?.namespace, 'default');
  t.match(a.metadata?.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.same(a.metadata?.creationTimestamp, new Date(now));
  const dup = t.throws(() => store.create('Pod', { metadata: { name: 'a' } })) as StoreError;
  t.match(dup, { reason: 'AlreadyExists', message: 'pods "a" already exists' });
  now += 1000;
  const b = store.modify('Pod', 'default', 'a', (p) => void (p.metadata = { ...p.metadata, labels: { v: '2' } }));
  t.equal(b.metadata?.uid, a.metadata?.uid);
  t.same(b.metadata?.creationTimestamp, a.metadata?.creationTimestamp);
  t.ok(Number(b.metadata?.resourceVersion) > Number(a.metadata?.resourceVersion));
  const conflict = t.throws(() => store.update('Pod', { ...a, metadata: { ...a.metadata } })) as StoreError;
  t.equal(conflict.reason, 'Conflict', 'stale resourceVersion');
  store.create('Node', { metadata: { name: 'n1', namespace: 'ignored' } });
  t.ok(store.get('Node', 'whatever', 'n1'), 'nodes are cluster-scoped');
  t.equal(store.get('Node', '', 'n1')?.metadata?.namespace, undefined);
  store.delete('Pod', 'default', 'a');
  t.throws(() => store.mustGet('Pod', 'default', 'a'), StoreError);
  stop();
  store.create('Pod', { metadata: { name: 'z' } });
  t.same(seen, ['added a rv=1', 'modified a 1->2', 'deleted a']);
  // same seed, same uids
  const again = new ObjectStore({ seed: 5 }).create('Pod', { metadata: { name: 'a' } });
  t.equal(again.metadata?.uid, a.metadata?.uid);
  const late: string[] = [];
  store.watch('Pod', { added: (p) => late.push(p.metadata!.name!) }, { replay: true });
  t.same(late, ['z']);
});

t.test('manifest parsing: multi-document, List, numbers as quantities', async (t) => {
  const docs = parseManifests(
    `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  containers:
  - name: c
    resources: {limits: {intel.com/x: 2, cpu: 0.5}}
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: net
  annotations:
    k8s.v1.cni.cncf.io/resourceName: intel.com/x
spec:
  config: '{"cniVersion":"1.0.0","type":"sriov"}'
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec: {containers: [{name: c}]}
---
`,
    'm.yaml',
  );
  t.same(docs.map((d) => [d.kind, d.object.metadata?.name, d.line]), [
    ['Pod', 'a', 1],
    ['NetworkAttachmentDefinition', 'net', 9],
    ['Pod', 'b', 21],
  ]);
  const limits = (docs[0].object as { spec: { containers: Array<{ resources: { limits: Record<string, unknown> } }> } }).spec.containers[0].resources.limits;
  t.same(limits, { 'intel.com/x': '2', cpu: '0.5' });
});

t.test('manifest errors name file, line, column and field', async (t) => {
  const cases: Array<{ name: string; text: string; issues: Array<{ line: number; field: string; message: RegExp | string }> }> = [
    {
      name: 'YAML syntax',
      text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n',
      issues: [{ line: 5, field: '', message: /flow sequence|Missing|Expected/i }],
    },
    {
      name: 'unknown kind',
      text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n',
      issues: [{ line: 2, field: 'kind', message: /^no matches for kind "Deployment" in version "apps\/v1"/ }],
    },
    {
      name: 'containers not a list, name missing',
      text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\nspec:\n  containers: {name: x}\n',
      issues: [
        { line: 3, field: 'metadata.name', message: 'Required value' },
        { line: 6, field: 'spec.containers', message: 'Invalid value: {"name":"x"}: must be a list' },
      ],
    },
    {
      name: 'second document, bad quantity type and bad taint effect',
      text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: c}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources:\n      limits:\n        intel.com/x: [1]\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec:\n  taints:\n  - key: k\n    effect: NoWay\n',
      issues: [
        { line: 14, field: 'spec.containers[0].resources.limits[intel.com/x]', message: 'Invalid value: [1]: must be a quantity' },
        { line: 22, field: 'spec.taints[0].effect', message: /^Unsupported value: "NoWay"/ },
      ],
    },
    {
      name: 'a taint without an effect, an unknown toleration operator, a NAD config that is not JSON',
      text: 'apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec:\n  taints:\n  - key: k\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n  tolerations: [{key: k, operator: Is}]\n---\napiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata: {name: net}\nspec:\n  config: \'{"type":\'\n',
      issues: [
        { line: 6, field: 'spec.taints[0].effect', message: 'Unsupported value: "": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"' },
        { line: 13, field: 'spec.tolerations[0].operator', message: 'Unsupported value: "Is": supported values: "Equal", "Exists"' },
        { line: 19, field: 'spec.config', message: /^Invalid value: must be JSON: / },
      ],
    },
    {
      // found by manifest.fuzz.test.ts: the yaml package threw these while building the value, as a ReferenceError
      name: 'an alias bomb (the shrunk fuzz case) and an alias without its anchor',
      text: 'a0: &a0 [lol]\na1: &a1 [*a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2]\n---\napiVersion: v1\nkind: Pod\n<<: *x\n',
      issues: [
        { line: 1, field: '', message: 'Excessive alias count indicates a resource exhaustion attack' },
        { line: 6, field: '', message: /^Unresolved alias/ },
      ],
    },
    {
      // found by manifest.fuzz.test.ts: every character of a value was quoted
      name: 'long values are quoted short',
      text: `apiVersion: v1\nkind: ${'K'.repeat(5000)}\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: ${'a'.repeat(5000)}\n`,
      issues: [
        { line: 2, field: 'kind', message: `no matches for kind "${'K'.repeat(60)}"… (5000 characters) in version "v1" (supported: v1 Pod, v1 Node, k8s.cni.cncf.io/v1 NetworkAttachmentDefinition)` },
        { line: 8, field: 'spec', message: `Invalid value: "${'a'.repeat(60)}"… (5000 characters): must be a map` },
      ],
    },
  ];
  for (const c of cases) {
    const err = t.throws(() => parseManifests(c.text, 'f.yaml'), c.name) as ManifestError;
    t.type(err, ManifestError);
    t.match(
      err.issues.map((i) => ({ file: i.file, line: i.line, field: i.field, message: i.message })),
      c.issues.map((i) => ({ file: 'f.yaml', ...i })),
      c.name,
    );
    t.equal(err.issues.length, c.issues.length, `${c.name}: issue count`);
  }
});

t.test('nextChange resolves at the next add, modify or delete, and only then', async (t) => {
  const store = new ObjectStore({ seed: 1 });
  const states: string[] = [];
  const watchOnce = (label: string) => void store.nextChange().then(() => states.push(label));
  watchOnce('created');
  await new Promise((r) => setImmediate(r));
  t.same(states, [], 'nothing happened yet');
  store.create('Pod', { metadata: { name: 'c' }, spec: { containers: [] } });
  await new Promise((r) => setImmediate(r));
  t.same(states, ['created']);
  const p = store.nextChange();
  store.delete('Pod', 'default', 'c');
  await p;
  t.pass('a delete resolves it too');
});
