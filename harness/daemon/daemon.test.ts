// Pieces of the daemon that need no cluster: errors as kubectl prints them. (The CNI plugins installed per node are
// tested in harness/plugins.test.ts.)
import t from 'tap';
import { StoreError } from '../../sim/cluster/store.ts';
import { parseManifests, ManifestError } from '../../sim/cluster/manifest.ts';
import { admitPodObject, InvalidObjectError } from '../../sim/apiserver/validation.ts';
import { errorOutput } from './daemon.ts';

t.test('errors print as kubectl prints them, exit code 1', async (t) => {
  t.same(errorOutput(new StoreError('NotFound', 'Pod', 'default', 'x', 'pods "x" not found')), { stdout: '', stderr: 'Error from server (NotFound): pods "x" not found\n', exitCode: 1 });
  let invalid: unknown;
  try {
    admitPodObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { 'intel.com/sriov': '1' }, requests: { 'intel.com/sriov': '2' } } }] } });
  } catch (e) {
    invalid = e;
  }
  t.ok(invalid instanceof InvalidObjectError);
  t.match(errorOutput(invalid).stderr, /^The Pod "p" is invalid: spec\.containers\[0\]\.resources\.requests: Invalid value: "2": must be equal to intel\.com\/sriov limit of 1\n$/);
  let manifest: unknown;
  try {
    parseManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - image: x\n', 'p.yaml');
  } catch (e) {
    manifest = e;
  }
  t.ok(manifest instanceof ManifestError);
  t.equal(errorOutput(manifest).stderr, 'p.yaml:6:7: spec.containers[0].name: Required value\n', 'manifest errors keep file:line:col');
  t.equal(errorOutput(new Error('container x is not valid for pod p')).stderr, 'error: container x is not valid for pod p\n');
});
