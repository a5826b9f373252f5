// The host backend's journal: one JSON object per line, appended and fsync'ed BEFORE each change it describes, so
// that after any exit (normal, Ctrl-C, SIGKILL, a crash) `restoreFromJournal` can put the machine back.
// A `baseline` entry holds a PF's whole state when it was claimed (numvfs, each VF's driver, override, netdev name
// and MAC, netlink settings); change entries hold the value each change replaced.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PfInfo, VfInfo, VfLink } from './nic.ts';

export const DEFAULT_JOURNAL = '/var/lib/sriov-lab/host-journal.jsonl';

export type VfAttr = 'mac' | 'vlan' | 'spoofchk' | 'trust' | 'state' | 'max_tx_rate' | 'min_tx_rate';

export type JournalEntry =
  | { type: 'begin'; pid: number; startedAt: string; pfs: string[]; forced: boolean }
  | { type: 'baseline'; pf: PfInfo; vfs: VfInfo[]; vfLinks: VfLink[] }
  | { type: 'numvfs'; pf: string; before: number; after: number }
  | { type: 'driver'; pciAddr: string; before: string | null; beforeOverride: string | null; after: string | null }
  | { type: 'vf'; pf: string; pfIfname: string; vf: number; attr: VfAttr; before: string; after: string }
  | { type: 'netns'; pciAddr: string; ifname: string; netns: string; newName: string }
  | { type: 'restored'; at: string; problems: string[] };

export class Journal {
  private fd: number;
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a', 0o600);
  }

  /** Appends and syncs; returns once the entry is on disk. */
  append(e: JournalEntry): void {
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** The entries of a journal; a torn last line (killed mid-write) is ignored. */
export function readJournal(path: string): JournalEntry[] {
  if (!existsSync(path)) return [];
  const out: JournalEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      break;
    }
  }
  return out;
}

/** Does the journal hold changes not yet restored? */
export function needsRestore(entries: JournalEntry[]): boolean {
  const last = entries.map((e) => e.type).lastIndexOf('restored');
  return entries.slice(last + 1).some((e) => e.type !== 'restored');
}

/** Moves a finished journal aside (kept for inspection): <path>.<iso time>.done */
export function retireJournal(path: string): string {
  const to = `${path}.${new Date().toISOString().replace(/[:.]/g, '-')}.done`;
  renameSync(path, to);
  return to;
}
