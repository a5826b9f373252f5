// `up` says early when the device plugin gets nowhere, instead of only after its whole ready timeout: a plugin that
// exits without registering is given up on at once with a warning; one that runs and registers nothing is named
// after a few seconds, while up goes on waiting.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { cliFor } from './fixtures/cli.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);

if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  t.test('a plugin that exits at once: up is ready with that warning, long before its timeout', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-pn-'));
    const cli = cliFor(join(dir, 'state'), dir);
    t.teardown(async () => {
      await cli(['down']);
      rmSync(dir, { recursive: true, force: true });
    });
    const t0 = Date.now();
    const up = await cli(['up', '--device-plugin', `sh -c 'echo no devices for me; exit 3'`, '--ready-timeout', '120', '--seed', '4']);
    const tookS = (Date.now() - t0) / 1000;
    t.equal(up.code, 0, `up exits 0\n${up.stderr}`);
    t.match(up.stdout, /^warning: the device plugin on node1 exited without registering a resource; see `sriov-lab logs device-plugin --node node1`$/m);
    t.ok(tookS < 60, `ready in ${tookS.toFixed(1)} s, not after the 120 s timeout`);
  });

  t.test('a plugin that runs and registers nothing: named after a few seconds, up still waits its timeout', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-pn-'));
    const cli = cliFor(join(dir, 'state'), dir);
    t.teardown(async () => {
      await cli(['down']);
      rmSync(dir, { recursive: true, force: true });
    });
    const up = await cli(['up', '--device-plugin', `sh -c 'exec sleep 600'`, '--ready-timeout', '12', '--seed', '4']);
    t.equal(up.code, 0, `up exits 0\n${up.stderr}`);
    // up's progress lines (stderr), in order
    const early = up.stderr.search(/node node1: the device plugin has run \d+s and registered no resource yet \(no device matches its config\?\); see `sriov-lab logs device-plugin --node node1`; waiting up to 12s/);
    const warning = up.stderr.search(/warning: no device plugin resources on node1 after 12000ms/);
    t.ok(early >= 0, `the early notice\n${up.stderr}`);
    t.ok(warning > early, 'before the timeout warning');
    t.match(up.stdout, /warning: no device plugin resources on node1 after 12000ms/, 'which the summary repeats');
  });
}
