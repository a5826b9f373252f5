// The host backend's hold on real NICs: a HostSession claims PFs (after the guard rails), journals every change
// before making it, and restores the machine on close(), on Ctrl-C (exit hook) and, after a crash or SIGKILL, from
// the journal (`restoreFromJournal`, behind `sriov-lab host restore`).
import { existsSync } from 'node:fs';
import { addExitHook } from '../exit-hooks.ts';
import { checkPf } from './guard.ts';
import { DEFAULT_JOURNAL, Journal, needsRestore, readJournal, retireJournal, type JournalEntry, type VfAttr } from './journal.ts';
import { bindDriver, dev, driverOf, findNetdevInNetns, listVfs, netdevsOf, resolvePf, vfLinks, PfError, type PfInfo, type VfLink } from './nic.ts';
import { must, type HostSystem } from './system.ts';

export interface OpenOptions {
  sys: HostSystem;
  /** netdev names or PCI addresses (--pf) */
  pfs: string[];
  journalPath?: string;
  /** skip the guard rails (they are still journaled as warnings) */
  force?: boolean;
  /** restore on SIGINT/SIGTERM/SIGHUP before the process dies (default true) */
  restoreOnSignal?: boolean;
  log?: (line: string) => void;
}

export interface VfSettings {
  mac?: string;
  vlan?: number;
  spoofchk?: boolean;
  trust?: boolean;
  state?: 'auto' | 'enable' | 'disable';
  maxTxRate?: number;
  minTxRate?: number;
}

export interface RestoreReport {
  actions: string[];
  /** what could not be put back, each with why */
  problems: string[];
  journal: string;
}

function vfAttrValue(l: VfLink | undefined, attr: VfAttr): string {
  if (!l) return '';
  switch (attr) {
    case 'mac':
      return l.mac;
    case 'vlan':
      return `${l.vlan}${l.qos ? ` qos ${l.qos}` : ''}`;
    case 'spoofchk':
      return l.spoofchk === null ? '' : l.spoofchk ? 'on' : 'off';
    case 'trust':
      return l.trust === null ? '' : l.trust ? 'on' : 'off';
    case 'state':
      return l.linkState ?? '';
    case 'max_tx_rate':
      return String(l.maxTxRate);
    case 'min_tx_rate':
      return String(l.minTxRate);
  }
}

async function setVfAttr(sys: HostSystem, pfIfname: string, vf: number, attr: VfAttr, value: string): Promise<void> {
  await must(sys, ['ip', 'link', 'set', 'dev', pfIfname, 'vf', String(vf), attr, ...value.split(' ')]);
}

async function setNumVfsRaw(sys: HostSystem, pf: string, n: number): Promise<void> {
  await sys.write(dev(pf, 'sriov_numvfs'), String(n));
}

export class HostSession {
  private journal: Journal;
  private removeHook: () => void = () => undefined;
  private closed = false;
  readonly pfs: PfInfo[];

  private constructor(
    private readonly sys: HostSystem,
    readonly journalPath: string,
    pfs: PfInfo[],
    private readonly log: (l: string) => void,
  ) {
    this.pfs = pfs;
    this.journal = new Journal(journalPath);
  }

  /** Claims the PFs: resolves them, applies the guard rails, restores a journal left by a crashed run, records a
   * baseline of each PF, and (by default) restores on Ctrl-C. */
  static async open(o: OpenOptions): Promise<HostSession> {
    const log = o.log ?? (() => undefined);
    const journalPath = o.journalPath ?? DEFAULT_JOURNAL;
    if (needsRestore(readJournal(journalPath))) {
      log(`a previous run left ${journalPath}: restoring it first`);
      const r = await restoreFromJournal(o.sys, journalPath);
      if (r.problems.length) throw new PfError(o.pfs.join(','), `the previous run's journal ${journalPath} did not restore cleanly:\n${r.problems.join('\n')}`);
    } else if (existsSync(journalPath)) retireJournal(journalPath);
    const pfs: PfInfo[] = [];
    const warnings: string[] = [];
    for (const name of o.pfs) {
      const pf = await resolvePf(o.sys, name);
      if (pfs.some((p) => p.pciAddr === pf.pciAddr)) continue;
      warnings.push(...(await checkPf(o.sys, pf, { force: o.force })));
      pfs.push(pf);
    }
    for (const w of warnings) log(`--force: ${w}`);
    const s = new HostSession(o.sys, journalPath, pfs, log);
    s.journal.append({ type: 'begin', pid: process.pid, startedAt: new Date().toISOString(), pfs: pfs.map((p) => p.pciAddr), forced: !!o.force && warnings.length > 0 });
    for (const pf of pfs) s.journal.append({ type: 'baseline', pf, vfs: await listVfs(o.sys, pf.pciAddr), vfLinks: await vfLinks(o.sys, pf.ifname) });
    if (o.restoreOnSignal !== false) {
      // restoring VFs takes seconds on slow machines (and minutes under TCG): give it time, the journal covers a SIGKILL
      s.removeHook = addExitHook({ name: `host restore (${journalPath})`, async: async () => void (await s.close()), timeoutMs: 300_000 });
    }
    return s;
  }

  private pf(nameOrPci: string): PfInfo {
    const pf = this.pfs.find((p) => p.pciAddr === nameOrPci || p.ifname === nameOrPci);
    if (!pf) throw new PfError(nameOrPci, `PF ${nameOrPci} was not claimed (claimed: ${this.pfs.map((p) => p.ifname || p.pciAddr).join(', ')}); pass it with --pf`);
    return pf;
  }

  private async ownsDevice(pci: string): Promise<boolean> {
    for (const pf of this.pfs) {
      if (pf.pciAddr === pci) return true;
      if ((await listVfs(this.sys, pf.pciAddr)).some((v) => v.pciAddr === pci)) return true;
    }
    return false;
  }

  /** Sets sriov_numvfs, through 0 when changing a non-zero count (the kernel answers EBUSY otherwise). */
  async setNumVfs(pfName: string, n: number): Promise<void> {
    const pf = this.pf(pfName);
    const cur = Number(await this.sys.read(dev(pf.pciAddr, 'sriov_numvfs')));
    if (cur === n) return;
    if (cur !== 0 && n !== 0) await this.setNumVfs(pfName, 0);
    const now = Number(await this.sys.read(dev(pf.pciAddr, 'sriov_numvfs')));
    this.journal.append({ type: 'numvfs', pf: pf.pciAddr, before: now, after: n });
    await setNumVfsRaw(this.sys, pf.pciAddr, n);
  }

  /** Binds a PF or one of its VFs to `driver` (e.g. vfio-pci), or back to its default driver with null. */
  async bindDriver(pci: string, driver: string | null): Promise<void> {
    if (!(await this.ownsDevice(pci))) throw new PfError(pci, `${pci} is neither a claimed PF nor one of its VFs`);
    const before = await driverOf(this.sys, pci);
    const ov = await this.sys.read(dev(pci, 'driver_override'));
    this.journal.append({ type: 'driver', pciAddr: pci, before, beforeOverride: ov === '(null)' ? null : ov, after: driver });
    if (driver === null) {
      // the device's own driver: clear the override and let the kernel match its ID table
      if (before) await this.sys.write(dev(pci, 'driver/unbind'), pci);
      await this.sys.write(dev(pci, 'driver_override'), '\n');
      await this.sys.write('/sys/bus/pci/drivers_probe', pci);
    } else await bindDriver(this.sys, pci, driver, driver);
  }

  async setVf(pfName: string, vf: number, s: VfSettings): Promise<void> {
    const pf = this.pf(pfName);
    if (!pf.ifname) throw new PfError(pfName, `PF ${pf.pciAddr} has no netdev: VF settings go through the PF's netdev`);
    const current = (await vfLinks(this.sys, pf.ifname)).find((l) => l.vf === vf);
    if (!current) throw new PfError(pfName, `PF ${pf.ifname} has no VF ${vf}`);
    const wanted: Array<[VfAttr, string | undefined]> = [
      ['mac', s.mac],
      ['vlan', s.vlan === undefined ? undefined : String(s.vlan)],
      ['spoofchk', s.spoofchk === undefined ? undefined : s.spoofchk ? 'on' : 'off'],
      ['trust', s.trust === undefined ? undefined : s.trust ? 'on' : 'off'],
      ['state', s.state],
      ['max_tx_rate', s.maxTxRate === undefined ? undefined : String(s.maxTxRate)],
      ['min_tx_rate', s.minTxRate === undefined ? undefined : String(s.minTxRate)],
    ];
    for (const [attr, value] of wanted) {
      if (value === undefined) continue;
      this.journal.append({ type: 'vf', pf: pf.pciAddr, pfIfname: pf.ifname, vf, attr, before: vfAttrValue(current, attr), after: value });
      await setVfAttr(this.sys, pf.ifname, vf, attr, value);
    }
  }

  /** Moves a VF's netdev into a network namespace (made if missing), optionally renamed there. */
  async moveNetdev(pci: string, netns: string, newName?: string): Promise<void> {
    if (!(await this.ownsDevice(pci))) throw new PfError(pci, `${pci} is neither a claimed PF nor one of its VFs`);
    const [ifname] = await netdevsOf(this.sys, pci);
    if (!ifname) throw new PfError(pci, `${pci} has no netdev in this namespace`);
    const r = await this.sys.run(['ip', 'netns', 'add', netns]);
    if (r.exitCode !== 0 && !/exists/i.test(r.stderr)) throw new PfError(pci, `ip netns add ${netns}: ${r.stderr.trim()}`);
    this.journal.append({ type: 'netns', pciAddr: pci, ifname, netns, newName: newName ?? ifname });
    await must(this.sys, ['ip', 'link', 'set', 'dev', ifname, 'netns', netns]);
    if (newName && newName !== ifname) await must(this.sys, ['ip', '-n', netns, 'link', 'set', 'dev', ifname, 'name', newName]);
  }

  /** Restores everything (also on Ctrl-C, through the exit hook); idempotent. */
  async close(): Promise<RestoreReport> {
    if (this.closed) return { actions: [], problems: [], journal: this.journalPath };
    this.closed = true;
    this.removeHook();
    this.journal.close();
    const r = await restoreFromJournal(this.sys, this.journalPath);
    for (const p of r.problems) this.log(`restore: ${p}`);
    return r;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Puts back what a journal recorded: netdevs moved into namespaces come home (also those a CNI moved: every VF of a
 * claimed PF is looked for), then the changes are undone newest first, then each PF is reconciled with its baseline
 * (numvfs, VF drivers and overrides, VF netlink settings, VF netdev names and MACs). Problems are collected, not
 * thrown, so one stuck VF does not stop the rest. The journal is retired (renamed *.done) when nothing failed.
 */
export async function restoreFromJournal(sys: HostSystem, journalPath = DEFAULT_JOURNAL): Promise<RestoreReport> {
  const all = readJournal(journalPath);
  const lastRestored = all.map((e) => e.type).lastIndexOf('restored');
  const entries = all.slice(lastRestored + 1);
  const report: RestoreReport = { actions: [], problems: [], journal: journalPath };
  if (entries.length === 0) return report;
  const attempt = async (what: string, f: () => Promise<void>): Promise<void> => {
    try {
      await f();
      report.actions.push(what);
    } catch (e) {
      report.problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  const baselines = entries.filter((e): e is Extract<JournalEntry, { type: 'baseline' }> => e.type === 'baseline');

  // 1. netdevs home
  const movedPcis = new Set<string>();
  for (const e of entries) if (e.type === 'netns') movedPcis.add(e.pciAddr);
  for (const b of baselines) for (const v of await listVfs(sys, b.pf.pciAddr).catch(() => [])) if (v.driver && v.driver !== 'vfio-pci' && !v.ifname) movedPcis.add(v.pciAddr);
  for (const pci of movedPcis) {
    if ((await netdevsOf(sys, pci)).length) continue;
    const where = await findNetdevInNetns(sys, pci);
    if (!where) continue;
    const [ns, ifname] = where;
    await attempt(`move ${ifname} (${pci}) from netns ${ns} back`, () => must(sys, ['ip', '-n', ns, 'link', 'set', 'dev', ifname, 'netns', '1']).then(() => undefined));
  }
  for (const e of entries) {
    if (e.type !== 'netns') continue;
    const r = await sys.run(['ip', 'netns', 'list']);
    // remove the namespaces we made, once empty of our devices
    if (r.stdout.split('\n').some((l) => l.split(' ')[0] === e.netns)) await attempt(`delete netns ${e.netns}`, () => must(sys, ['ip', 'netns', 'delete', e.netns]).then(() => undefined));
  }

  // 2. undo, newest first
  for (const e of [...entries].reverse()) {
    if (e.type === 'vf') {
      const exists = (await vfLinks(sys, e.pfIfname).catch(() => [])).some((l) => l.vf === e.vf);
      if (exists && e.before !== '') await attempt(`VF ${e.vf} of ${e.pfIfname}: ${e.attr} back to ${e.before}`, () => setVfAttr(sys, e.pfIfname, e.vf, e.attr, e.before));
    } else if (e.type === 'driver') {
      if (await sys.exists(dev(e.pciAddr))) await attempt(`${e.pciAddr}: driver back to ${e.before ?? 'none'}`, () => bindDriver(sys, e.pciAddr, e.before, e.beforeOverride));
    } else if (e.type === 'numvfs') {
      const cur = Number(await sys.read(dev(e.pf, 'sriov_numvfs')).catch(() => 'NaN'));
      if (cur !== e.before) {
        await attempt(`${e.pf}: sriov_numvfs back to ${e.before}`, async () => {
          if (cur !== 0) await setNumVfsRaw(sys, e.pf, 0);
          if (e.before !== 0) await setNumVfsRaw(sys, e.pf, e.before);
        });
      }
    }
  }

  // 3. reconcile with the baselines
  for (const b of baselines) {
    const pf = b.pf;
    const cur = Number(await sys.read(dev(pf.pciAddr, 'sriov_numvfs')));
    if (cur !== pf.numVfs) {
      await attempt(`${pf.pciAddr}: sriov_numvfs ${cur} → ${pf.numVfs}`, async () => {
        if (cur !== 0) await setNumVfsRaw(sys, pf.pciAddr, 0);
        if (pf.numVfs !== 0) await setNumVfsRaw(sys, pf.pciAddr, pf.numVfs);
      });
    }
    const nowVfs = await listVfs(sys, pf.pciAddr);
    for (const want of b.vfs) {
      const have = nowVfs.find((v) => v.pciAddr === want.pciAddr);
      if (!have) {
        report.problems.push(`${want.pciAddr} (VF ${want.index} of ${pf.pciAddr}) is missing`);
        continue;
      }
      if (have.driver !== want.driver || have.driverOverride !== want.driverOverride) {
        await attempt(`${want.pciAddr}: driver ${have.driver ?? 'none'} → ${want.driver ?? 'none'}`, () => bindDriver(sys, want.pciAddr, want.driver, want.driverOverride));
      }
    }
    const links = await vfLinks(sys, pf.ifname).catch(() => [] as VfLink[]);
    for (const want of b.vfLinks) {
      const have = links.find((l) => l.vf === want.vf);
      if (!have) continue;
      for (const attr of ['mac', 'vlan', 'spoofchk', 'trust', 'state', 'max_tx_rate', 'min_tx_rate'] as const) {
        const w = vfAttrValue(want, attr);
        if (w !== '' && w !== vfAttrValue(have, attr)) await attempt(`VF ${want.vf} of ${pf.ifname}: ${attr} → ${w}`, () => setVfAttr(sys, pf.ifname, want.vf, attr, w));
      }
    }
    // VF netdevs: names (a recreated VF may come up as another ethN) and MACs (igbvf picks a random one unless the PF set it)
    for (const want of b.vfs) {
      if (!want.ifname) continue;
      const [name] = await netdevsOf(sys, want.pciAddr);
      if (!name) continue;
      if (name !== want.ifname) {
        await attempt(`${want.pciAddr}: netdev ${name} → ${want.ifname}`, async () => {
          await must(sys, ['ip', 'link', 'set', 'dev', name, 'down']);
          await must(sys, ['ip', 'link', 'set', 'dev', name, 'name', want.ifname as string]);
        });
      }
      const mac = await sys.read(`/sys/class/net/${want.ifname}/address`).catch(() => null);
      // a VF whose MAC the PF set takes that MAC at its next reset (opening the netdev resets it) and refuses any
      // other: its netdev's MAC follows the restored VF setting, and an older one cannot be put back
      const adminMac = b.vfLinks.find((l) => l.vf === want.index)?.mac;
      if (adminMac && adminMac !== '00:00:00:00:00:00' && mac === adminMac) {
        if (want.netdevMac !== mac) report.actions.push(`${want.ifname}: address ${mac} left (the PF sets it; was ${want.netdevMac})`);
        continue;
      }
      if (want.netdevMac && mac && mac !== want.netdevMac) {
        await attempt(`${want.ifname}: address ${mac} → ${want.netdevMac}`, () => must(sys, ['ip', 'link', 'set', 'dev', want.ifname as string, 'address', want.netdevMac as string]).then(() => undefined));
      }
    }
  }
  const j = new Journal(journalPath);
  j.append({ type: 'restored', at: new Date().toISOString(), problems: report.problems });
  j.close();
  if (report.problems.length === 0) retireJournal(journalPath);
  return report;
}

