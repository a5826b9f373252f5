// Test helper, bundled with esbuild and run inside the QEMU guest (the guest is "the host"):
//   snapshot PF…                  print the snapshot JSON
//   run PF MODE                   claim PF, make a run of changes, then MODE: close (restore, exit 0) | wait (print
//                                 "changed" and wait to be killed or Ctrl-C'ed)
//   restore                       restoreFromJournal, print the report JSON
//   guard PF [--force]            open a session (guard rails) and close it; prints "ok" or the GuardError
import { HostSession, restoreFromJournal } from '../host.ts';
import { snapshotHost } from '../snapshot.ts';
import { localSystem } from '../system.ts';
import { listVfs, resolvePf } from '../nic.ts';

const journalPath = process.env.SL_JOURNAL ?? '/var/lib/sriov-lab/test-journal.jsonl';
const sys = localSystem({ ip: '/usr/sbin/ip' });
const [cmd, ...rest] = process.argv.slice(2);

if (cmd === 'snapshot') {
  process.stdout.write(JSON.stringify(await snapshotHost(sys, rest)));
} else if (cmd === 'restore') {
  process.stdout.write(JSON.stringify(await restoreFromJournal(sys, journalPath)));
} else if (cmd === 'guard') {
  try {
    const s = await HostSession.open({ sys, pfs: [rest[0]], journalPath, force: rest.includes('--force') });
    await s.close();
    process.stdout.write('ok');
  } catch (e) {
    process.stdout.write(`${(e as Error).name}: ${(e as Error).message}`);
  }
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
    const r = await s.close();
    process.stdout.write(JSON.stringify(r));
  } else {
    process.stdout.write('changed\n');
    setInterval(() => undefined, 1 << 30);
  }
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exitCode = 2;
}
