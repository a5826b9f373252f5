// The host backend on a real kernel, part 2: a run of changes interrupted by Ctrl-C (it restores before dying) and
// by SIGKILL (the journal survives; `restore` puts everything back). See host-guard.test.ts for the set-up.
import t from 'tap';
import { caps } from '../../sim/caps.ts';
import type { HostSnapshot } from './snapshot.ts';
import { guestHost, journal, type ToolResult } from './testdata/guest-host.ts';

const qemu = caps.qemu();
if (!qemu.ok) {
  t.plan(0, `skipped: the host backend is tested in a QEMU guest with igb: ${qemu.detail}`);
} else {
  const g = guestHost(t, 'host-restore');
  let before: HostSnapshot;
  t.before(async () => {
    before = await g.snapshot();
  });

  t.test('Ctrl-C: the run restores before it dies', async (t) => {
    const { pid, mid } = await g.startWaiting();
    g.assertChanged(t, mid, before);
    await g.vm.run(['kill', '-INT', String(pid)], { where: 'guest' });
    await g.waitGone(pid);
    t.same(await g.snapshot(), before);
    t.notOk(await g.pending(), 'journal retired');
  });

  t.test('SIGKILL: the journal survives and restore puts everything back', async (t) => {
    const { pid, mid } = await g.startWaiting();
    g.assertChanged(t, mid, before);
    await g.vm.run(['kill', '-KILL', String(pid)], { where: 'guest' });
    await g.waitGone(pid);
    t.ok(await g.pending(), 'the journal is still there');
    const { report, after } = JSON.parse(await g.tool(['restore'])) as ToolResult;
    t.same(report.problems, []);
    t.same(after, before);
    t.notOk(await g.pending(), 'journal retired');
    const again = JSON.parse(await g.tool(['restore'])) as ToolResult;
    t.same(again.report, { actions: [], problems: [], journal }, 'a second restore has nothing to do');
  });
}
