// `sriov-lab sysfs serve`: the FUSE tree alone, served until SIGTERM, then unmounted.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { isMounted } from '../../sim/kernel/server-process.ts';

const fuse = caps.fuse();
if (!fuse.ok) {
  t.plan(0, `skipped: sysfs serve needs FUSE: ${fuse.detail}`);
} else {
  t.test('sysfs serve mounts the topology node and unmounts on SIGTERM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-serve-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const topo = join(dir, 't.yaml');
    writeFileSync(
      topo,
      'apiVersion: sriov-lab.dev/v1alpha1\nkind: Topology\nmetadata: {name: t}\nspec:\n  nodes:\n    - name: n1\n      nics:\n        - {model: intel-82599, pciAddr: "0000:03:00.0", ifname: ens3f0, numVfs: 3}\n',
    );
    const mnt = join(dir, 'mnt');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP')));
    const p = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'harness/cli/main.ts'), 'sysfs', 'serve', '--topology', topo, '--mount', mnt], {
      cwd: projectRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    for (let i = 0; i < 200 && !out.includes('stop with SIGTERM'); i++) await new Promise((r) => setTimeout(r, 100));
    t.match(out, `serving node n1's sysfs at ${mnt}/sys`);
    t.ok(isMounted(mnt), 'mounted');
    t.equal(readFileSync(join(mnt, 'sys/class/net/ens3f0/device/sriov_numvfs'), 'utf8'), '3\n', 'the topology is served');
    t.equal(readFileSync(join(mnt, 'sys/bus/pci/devices/0000:03:10.2/device'), 'utf8'), '0x10ed\n', 'VFs at offset 128 stride 2');
    p.kill('SIGTERM');
    t.equal(await exited, 0, 'exits 0 on SIGTERM');
    t.match(out, 'unmounted');
    t.notOk(isMounted(mnt), 'unmounted');
  });
}
