// `sriov-lab host restore` and `sriov-lab host snapshot`: the host backend's commands for people at a terminal.
import { parse, UsageError } from '../cli/args.ts';
import { DEFAULT_JOURNAL, needsRestore, readJournal } from './journal.ts';
import { restoreFromJournal } from './host.ts';
import { snapshotHost } from './snapshot.ts';
import { localSystem } from './system.ts';

/** sriov-lab host restore [--journal FILE]: undoes what a crashed or killed host run changed. */
export async function hostRestore(args: string[]): Promise<number> {
  const { values } = parse(args, { journal: { type: 'string' } });
  const path = values.journal ?? DEFAULT_JOURNAL;
  if (!needsRestore(readJournal(path))) {
    process.stdout.write(`nothing to restore (${path} has no pending changes)\n`);
    return 0;
  }
  const r = await restoreFromJournal(localSystem(), path);
  for (const a of r.actions) process.stdout.write(`restored: ${a}\n`);
  for (const p of r.problems) process.stderr.write(`NOT restored: ${p}\n`);
  process.stdout.write(r.problems.length ? `${r.problems.length} problem(s); the journal stays at ${path}\n` : `done; journal retired\n`);
  return r.problems.length ? 1 : 0;
}

/** sriov-lab host snapshot --pf NAME|PCI…: prints the JSON snapshot (compare two with diff). */
export async function hostSnapshot(args: string[]): Promise<number> {
  const { values } = parse(args, { pf: { type: 'string', multiple: true } });
  if (!values.pf?.length) throw new UsageError('usage: sriov-lab host snapshot --pf NAME|PCI [--pf …]');
  process.stdout.write(`${JSON.stringify(await snapshotHost(localSystem(), values.pf), null, 2)}\n`);
  return 0;
}
