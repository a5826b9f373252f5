// The plugins installed into a node: the CNI install set (used by the sim backend and the cluster daemon alike).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledCniArgv, cniInstallSet } from './plugins.ts';

t.test('CNI plugins per node: the bundled one under both type names, --cni as sriov', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-cni-set-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bundled = bundledCniArgv();
  const plain = cniInstallSet(join(dir, 'a'));
  const user = cniInstallSet(join(dir, 'b'), { path: '/opt/vendor/sriov' });
  if (!bundled) {
    t.same(plain, {}, 'nothing while the bundled CNI is not in this checkout');
    t.same(user, { sriov: '/opt/vendor/sriov' });
    return;
  }
  const shim = join(dir, 'a', 'sriov-lab-cni');
  t.same(plain, { sriov: shim, 'ehost-device': shim });
  t.same(user, { sriov: '/opt/vendor/sriov', 'ehost-device': join(dir, 'b', 'sriov-lab-cni') }, '--cni replaces sriov only');
  const text = readFileSync(shim, 'utf8');
  t.match(text, /^#!\/bin\/sh\nexec '.*node' .*'.*(sriov-lab-cni\.[cm]js|plugins\/cni\/main\.ts)' "\$@"\n$/, 'the shim execs node on the bundled CNI');
  t.equal(statSync(shim).mode & 0o111, 0o111, 'and is executable');
});
