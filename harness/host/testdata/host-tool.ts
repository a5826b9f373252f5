// Test helper, bundled with esbuild and run inside the QEMU guest (the guest is "the host"):
//   snapshot                      print the snapshot JSON of the PFs in $SL_SNAP_PFS
//   run PF MODE                   claim PF, make a run of changes, then MODE: close (restore; print {report, after})
//                                 | wait (print "changed <snapshot JSON>" and wait to be killed or Ctrl-C'ed)
//   restore                       restoreFromJournal; print {report, after}
//   guard PF[,force] …            for each: open a session (guard rails) and close it; prints a JSON array of "ok"
//                                 or the GuardError's message
// (Starting node in a TCG guest costs seconds, so one call does what it can.)
import { HostSession, restoreFromJournal } from '../host.ts';
import { snapshotHost } from '../snapshot.ts';
import { localSystem } from '../system.ts';
import { listVfs, resolvePf } from '../nic.ts';

const journalPath = process.env.SL_JOURNAL ?? '/var/lib/sriov-lab/test-journal.jsonl';
const sys = localSystem({ ip: '/usr/sbin/ip' });
const [cmd, ...rest] = process.argv.slice(2);
const snap = () => snapshotHost(sys, (process.env.SL_SNAP_PFS ?? '').split(',').filter(Boolean));

if (cmd === 'snapshot') {
  process.stdout.write(JSON.stringify(await snap()));
} else if (cmd === 'restore') {
  const report = await restoreFromJournal(sys, journalPath);
  process.stdout.write(JSON.stringify({ report, after: await snap() }));
} else if (cmd === 'guard') {
  const out: string[] = [];
  for (const spec of rest) {
    const [pf, force] = spec.split(',');
    try {
      const s = await HostSession.open({ sys, pfs: [pf], journalPath, force: force === 'force' });
      await s.close();
      out.push('ok');
    } catch (e) {
      out.push(`${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  process.stdout.write(JSON.stringify(out));
} else if (cmd === 'run') {
  const [pfName, mode] = rest;
  const s = await HostSession.open({ sys, pfs: [pfName], journalPath, log: (l) => process.stderr.write(`${l}\n`) });
  const pf = await resolvePf(sys, pfName);
  await s.setNumVfs(pf.pciAddr, 4);
  const vfs = await listVfs(sys, pf.pciAddr);
  await s.bindDriver(vfs[1].pciAddr, 'vfio-pci');
  await s.setVf(pf.pciAddr, 0, { mac: '02:aa:00:00:00:01', vlan: 77, spoofchk: false, trust: true });
  await s.setVf(pf.pciAddr, 3, { vlan: 5 });
  await s.moveNetdev(vfs[2].pciAddr, 'pod1', 'net1');
  if (mode === 'close') {
    const report = await s.close();
    process.stdout.write(JSON.stringify({ report, after: await snap() }));
  } else {
    process.stdout.write(`changed ${JSON.stringify(await snap())}\n`);
    setInterval(() => undefined, 1 << 30);
  }
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exitCode = 2;
}
