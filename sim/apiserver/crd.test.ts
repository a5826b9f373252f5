// CustomResourceDefinitions in general, with the real kubectl: creating a CRD serves its resources (JSON) — discovery
// and OpenAPI updated, so `kubectl get <plural>`, its short name and its printer columns work, and kubectl creates,
// applies, patches, edits status, watches and deletes them; namespaced and cluster-scoped; the schema's strict
// decoding; deleting the CRD deletes its objects and takes the resource out of discovery.
import t from 'tap';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { KUBECTL, kubectlOnApiServer } from './fixtures/kubectl.ts';

const crd = (scope: 'Namespaced' | 'Cluster', plural: string, kind: string, extra = '') => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.lab.example.com
spec:
  group: lab.example.com
  scope: ${scope}
  names:
    plural: ${plural}
    singular: ${kind.toLowerCase()}
    kind: ${kind}
    shortNames: [${plural.slice(0, 2)}]
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
${extra}      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                vfs: {type: integer}
                pf: {type: string}
            status:
              type: object
              properties:
                phase: {type: string}
`;

const PRINTER_COLUMNS = `      additionalPrinterColumns:
        - {name: PF, type: string, jsonPath: .spec.pf}
        - {name: VFs, type: integer, jsonPath: .spec.vfs}
        - {name: Phase, type: string, jsonPath: .status.phase}
        - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`;

if (!existsSync(KUBECTL)) {
  t.plan(0, `skipped: no kubectl at ${KUBECTL} (these tests drive CRDs with the real kubectl)`);
} else {
  t.test('a CRD serves its resources to kubectl', async (t) => {
    const { cluster, work, kubeconfig, kubectl } = await kubectlOnApiServer(t, 'sl-crd-', 5);
    const ok = async (args: string[], input?: string) => {
      const r = await kubectl(args, { input });
      t.equal(r.code, 0, `kubectl ${args.join(' ')}${r.code ? `: ${r.stderr}` : ''}`);
      return r.stdout;
    };

    const bad = await kubectl(['create', '-f', '-'], { input: crd('Namespaced', 'widgets', 'Widget').replace('scope: Namespaced', 'scope: Global') });
    t.match(bad.stderr, /The CustomResourceDefinition "widgets\.lab\.example\.com" is invalid: spec\.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"/, 'a CRD is validated');
    const before = await kubectl(['get', 'sriovpools']);
    t.match(before.stderr, /the server doesn't have a resource type "sriovpools"/, 'nothing is served before the CRD');

    t.equal(await ok(['create', '-f', '-'], crd('Namespaced', 'sriovpools', 'SriovPool', PRINTER_COLUMNS)), 'customresourcedefinition.apiextensions.k8s.io/sriovpools.lab.example.com created\n');
    t.equal(await ok(['create', '-f', '-'], crd('Cluster', 'fabrics', 'Fabric')), 'customresourcedefinition.apiextensions.k8s.io/fabrics.lab.example.com created\n');
    const established = await ok(['get', 'crd', 'sriovpools.lab.example.com', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
    t.equal(established, 'True');

    const resources = await ok(['api-resources', '--api-group=lab.example.com']);
    t.match(resources, /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/m);
    t.match(resources, /^fabrics\s+fa\s+lab\.example\.com\/v1\s+false\s+Fabric$/m, 'the cluster-scoped one in discovery');
    t.match(resources, /^sriovpools\s+sr\s+lab\.example\.com\/v1\s+true\s+SriovPool$/m, 'the namespaced one');

    // create (kubectl validates against the OpenAPI document the CRD added), then read back in every way
    const pool = `apiVersion: lab.example.com/v1
kind: SriovPool
metadata: {name: pool-a, labels: {tier: fast}}
spec: {pf: ens1f0, vfs: 4}
`;
    t.equal(await ok(['create', '-f', '-'], pool), 'sriovpool.lab.example.com/pool-a created\n');
    const table = await ok(['get', 'sriovpools']);
    t.match(table, /^NAME\s+PF\s+VFS\s+PHASE\s+AGE\npool-a\s+ens1f0\s+4\s+\d+s\n$/, 'get <plural>: NAME, then the printer columns (an unset one empty, as kubectl prints a null cell; a date as an age)');
    t.match(await ok(['get', 'sr', 'pool-a', '-o', 'jsonpath={.spec.vfs} {.metadata.namespace}']), '4 default', 'by its short name, defaulted into the namespace');
    t.match(await ok(['get', 'sriovpools.lab.example.com', '-l', 'tier=fast', '-o', 'name']), 'sriovpool.lab.example.com/pool-a\n', 'by group-qualified name, with a label selector');
    t.equal(await ok(['get', 'sriovpools', '-l', 'tier=slow', '-o', 'name']), '', 'a selector that matches nothing');
    const strict = await kubectl(['create', '-f', '-'], { input: pool.replace('pool-a', 'pool-b').replace('vfs: 4', 'vfs: 4, bogus: 1') });
    t.not(strict.code, 0, 'an unknown field is refused under Strict validation');
    t.match(strict.stderr, /unknown field "spec\.bogus"/);
    const typed = await kubectl(['create', '-f', '-'], { input: pool.replace('pool-a', 'pool-c').replace('vfs: 4', 'vfs: four') });
    t.not(typed.code, 0, 'a value of the wrong type is refused');

    // cluster-scoped: no namespace, and -n does not matter
    t.equal(await ok(['create', '-f', '-'], 'apiVersion: lab.example.com/v1\nkind: Fabric\nmetadata: {name: fab1}\nspec: {vfs: 1}\n'), 'fabric.lab.example.com/fab1 created\n');
    t.match(await ok(['get', 'fabrics', '-n', 'kube-system']), /^NAME\s+AGE\nfab1\s+\d+s\n$/, 'a CRD without printer columns: NAME and AGE');
    t.equal(await ok(['get', 'fabric', 'fab1', '-o', 'jsonpath={.metadata.namespace}']), '', 'no namespace on a cluster-scoped object');

    // watch: kubectl get -w sees the patch and the status change made meanwhile
    const watch = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(work, 'cache'), 'get', 'sriovpools', '-w', '-o', 'custom-columns=NAME:.metadata.name,VFS:.spec.vfs,PHASE:.status.phase', '--no-headers']);
    let watched = '';
    watch.stdout.setEncoding('utf8').on('data', (d: string) => (watched += d));
    t.teardown(() => {
      watch.kill();
    });
    const waitFor = async (re: RegExp) => {
      const t0 = Date.now();
      while (!re.test(watched)) {
        if (Date.now() - t0 > 20_000) throw new Error(`the watch did not print ${re} (it printed ${JSON.stringify(watched)})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/^pool-a\s+4\s+<none>$/m);
    t.equal(await ok(['patch', 'sriovpool', 'pool-a', '--type=merge', '-p', '{"spec":{"vfs":8}}']), 'sriovpool.lab.example.com/pool-a patched\n');
    await waitFor(/^pool-a\s+8\s+<none>$/m);
    t.equal(await ok(['patch', 'sriovpool', 'pool-a', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready"}}']), 'sriovpool.lab.example.com/pool-a patched\n');
    await waitFor(/^pool-a\s+8\s+Ready$/m);
    t.pass('the watch printed each change');
    const onMain = await ok(['patch', 'sriovpool', 'pool-a', '--type=merge', '-p', '{"status":{"phase":"Gone"}}']);
    t.match(onMain, /patched \(no change\)|patched/);
    t.equal(await ok(['get', 'sriovpool', 'pool-a', '-o', 'jsonpath={.status.phase}']), 'Ready', 'status is kept on the main resource when the CRD has the status subresource');
    const sp = await kubectl(['patch', 'sriovpool', 'pool-a', '--type=strategic', '-p', '{"spec":{"vfs":2}}']);
    t.match(sp.stderr, /strategic merge patch is not supported|UnsupportedMediaType|unknown format/, 'no strategic merge patch for a custom resource, as from the apiserver');

    // apply, replace, delete
    t.equal(await ok(['apply', '-f', '-'], pool.replace('vfs: 4', 'vfs: 6')), 'sriovpool.lab.example.com/pool-a configured\n');
    t.equal(await ok(['get', 'sriovpool', 'pool-a', '-o', 'jsonpath={.spec.vfs}']), '6');
    t.equal(await ok(['delete', 'sriovpool', 'pool-a']), 'sriovpool.lab.example.com "pool-a" deleted\n');
    const gone = await kubectl(['get', 'sriovpool', 'pool-a']);
    t.match(gone.stderr, /Error from server \(NotFound\): sriovpools\.lab\.example\.com "pool-a" not found/, "the apiserver's NotFound, with the group");

    // deleting a CRD deletes its objects, and its resource is no longer served
    t.equal(await ok(['delete', 'crd', 'fabrics.lab.example.com']), 'customresourcedefinition.apiextensions.k8s.io "fabrics.lab.example.com" deleted\n');
    t.equal(cluster.store.list('Fabric.lab.example.com' as never).length, 0, "the CRD's objects went with it");
    const after = await kubectl(['get', 'fabrics']);
    t.match(after.stderr, /Error from server \(NotFound\): Unable to list "lab\.example\.com\/v1, Resource=fabrics": the server could not find the requested resource/, 'its URL answers 404 (kubectl still has it in its discovery cache)');
    const discovery = JSON.parse(await ok(['get', '--raw', '/apis/lab.example.com/v1'])) as { resources: Array<{ name: string }> };
    t.same(discovery.resources.map((r) => r.name), ['sriovpools', 'sriovpools/status'], 'discovery no longer lists it; the other CRD is still served');
  });
}
