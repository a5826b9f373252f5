// Server-side apply's field ownership with the real kubectl (`kubectl apply --server-side`): managedFields per manager
// and operation, a conflict when another manager owns a field the apply would change (409, the apiserver's message
// and FieldManagerConflict causes; kubectl prints it), shared ownership of an equal value, --force-conflicts taking
// the field over, a field the applier stops applying removed, an Update manager (kubectl label) in the conflict
// message with its apiVersion and time, and a list merged by key (`.spec.containers[name="app"].image`).
import t from 'tap';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { KUBECTL, kubectlOnApiServer } from './fixtures/kubectl.ts';
import { pathString } from './managed-fields.ts';

const cm = (data: Record<string, string>, labels?: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', ...(labels ? { labels } : {}) }, data });

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}

t.test('conflict paths are printed as the apiserver prints them', async (t) => {
  t.equal(pathString(['f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image']), '.spec.containers[name="app"].image');
  t.equal(pathString(['f:metadata', 'f:finalizers', 'v:"x"']), '.metadata.finalizers[="x"]');
  t.equal(pathString(['f:data', 'f:a.b']), '.data.a.b');
});

if (!existsSync(KUBECTL)) {
  t.plan(1, `skipped: no kubectl at ${KUBECTL} (server-side apply is tested with the real kubectl)`);
} else {
  t.test('kubectl apply --server-side: managed fields, conflicts, force', async (t) => {
    const { api, kubectl } = await kubectlOnApiServer(t, 'sl-ssa-', 5);
    const apply = (body: string, ...flags: string[]) => kubectl(['apply', '--server-side', ...flags, '-f', '-'], { input: body });
    const managed = async (kind = 'configmap', name = 'cfg'): Promise<Entry[]> =>
      (JSON.parse((await kubectl(['get', kind, name, '-o', 'json', '--show-managed-fields'])).stdout) as { metadata: { managedFields: Entry[] } }).metadata.managedFields;
    const data = async () => (JSON.parse((await kubectl(['get', 'configmap', 'cfg', '-o', 'json'])).stdout) as { data: Record<string, string> }).data;

    const first = await apply(cm({ a: '1', b: '2' }, { tier: 'gold' }));
    t.equal(first.stdout, 'configmap/cfg serverside-applied\n', first.stderr);
    const m1 = await managed();
    t.same(
      m1.map((e) => [e.manager, e.operation, e.apiVersion, e.fieldsType]),
      [['kubectl', 'Apply', 'v1', 'FieldsV1']],
      'one Apply entry for kubectl',
    );
    t.same(m1[0].fieldsV1, { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:tier': {} } } }, 'owning exactly the applied fields');
    t.match(m1[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    t.notMatch((await kubectl(['get', 'configmap', 'cfg', '-o', 'yaml'])).stdout, /managedFields/, 'kubectl hides them unless asked');

    // another manager changing a.: a conflict, as kubectl prints it; nothing changed
    const clash = await apply(cm({ a: '9' }), '--field-manager=other');
    t.not(clash.code, 0, 'a conflicting apply fails');
    t.match(clash.stderr, /^error: Apply failed with 1 conflict: conflict with "kubectl": \.data\.a$/m);
    t.match(clash.stderr, /Please review the fields above--they currently have other managers/, 'kubectl recognized the conflict');
    t.same(await data(), { a: '1', b: '2' }, 'the object is unchanged');

    // the raw Status: 409 Conflict, one FieldManagerConflict cause per field
    const status = await new Promise<{ code: number; body: { reason: string; code: number; message: string; details: { causes: unknown[] } } }>((resolve, reject) => {
      const r = request(
        `${api.url}/api/v1/namespaces/default/configmaps/cfg?fieldManager=other`,
        { method: 'PATCH', ca: api.pki.caCert, headers: { Authorization: `Bearer ${api.pki.token}`, 'Content-Type': 'application/apply-patch+yaml' } },
        (res) => {
          let b = '';
          res.setEncoding('utf8').on('data', (d: string) => (b += d));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(b) as never }));
        },
      );
      r.on('error', reject);
      r.end(cm({ a: '9', b: '8' }));
    });
    t.equal(status.code, 409);
    t.equal(status.body.reason, 'Conflict');
    t.equal(status.body.message, 'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .data.a\n- .data.b');
    t.same(status.body.details.causes, [
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.data.a' },
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.data.b' },
    ]);

    // the same value is no conflict: both own it
    const shared = await apply(cm({ a: '1' }), '--field-manager=other');
    t.equal(shared.code, 0, shared.stderr);
    const m2 = await managed();
    t.same(m2.map((e) => [e.manager, e.fieldsV1['f:data']]), [['kubectl', { 'f:a': {}, 'f:b': {} }], ['other', { 'f:a': {} }]], 'a shared field');

    // forced: other takes a over
    const forced = await apply(cm({ a: '5' }), '--field-manager=other', '--force-conflicts');
    t.equal(forced.code, 0, forced.stderr);
    t.same((await data()).a, '5');
    const m3 = await managed();
    t.same(m3.map((e) => [e.manager, e.fieldsV1['f:data']]), [['kubectl', { 'f:b': {} }], ['other', { 'f:a': {} }]], 'kubectl lost .data.a');

    // kubectl stops applying b (nobody else owns it): b goes; it stops applying the label: the label goes
    const dropped = await apply(cm({ c: '3' }));
    t.equal(dropped.code, 0, dropped.stderr);
    t.same(await data(), { a: '5', c: '3' }, 'b removed, a kept (other owns it), c added');
    t.equal((await kubectl(['get', 'configmap', 'cfg', '-o', 'jsonpath={.metadata.labels}'])).stdout, '', 'the label it no longer applies is gone');

    // an Update manager: kubectl label owns the label it set; an apply changing it conflicts with it
    t.equal((await kubectl(['label', 'configmap', 'cfg', 'tier=silver'])).code, 0);
    const m4 = await managed();
    const label = m4.find((e) => e.manager === 'kubectl-label');
    t.same([label?.operation, label?.fieldsV1], ['Update', { 'f:metadata': { 'f:labels': { 'f:tier': {} } } }], 'kubectl label is an Update manager of the label');
    const vsUpdate = await apply(cm({ c: '3' }, { tier: 'bronze' }));
    t.match(vsUpdate.stderr, new RegExp(`conflict with "kubectl-label" using v1 at ${label!.time}: \\.metadata\\.labels\\.tier`), 'an Update manager is named with its apiVersion and time');

    // a list merged by key: the container is the element, its image the field
    const pod = (image: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image }] } });
    t.equal((await apply(pod('busybox:1'))).code, 0);
    const pm = (await managed('pod', 'p')).find((e) => e.manager === 'kubectl')!;
    t.same(pm.fieldsV1, { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } }, 'the element by its key, with "." for the element itself');
    const podClash = await apply(pod('busybox:2'), '--field-manager=ci');
    t.match(podClash.stderr, /conflict with "kubectl": \.spec\.containers\[name="app"\]\.image/);
    const podForced = await apply(pod('busybox:2'), '--field-manager=ci', '--force-conflicts');
    t.equal(podForced.code, 0, podForced.stderr);
    t.equal((await kubectl(['get', 'pod', 'p', '-o', 'jsonpath={.spec.containers[0].image}'])).stdout, 'busybox:2');

    // a create records its creator as an Update manager
    const create = await kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made' }, data: { k: 'v' } }) });
    t.equal(create.code, 0, create.stderr);
    const made = await managed('configmap', 'made');
    t.same(made.map((e) => [e.manager, e.operation, e.fieldsV1]), [['kubectl-create', 'Update', { 'f:data': { 'f:k': {} } }]]);
  });
}
