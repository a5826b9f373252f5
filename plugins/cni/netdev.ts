// Moving a netdev into a pod's network namespace and back, with iproute2. One `ip link set … netns P name N
// address M mtu U up` does the move, the rename (done by the kernel during the move, so the name never clashes in
// between) and the settings; `ip -n` only takes netns names, so in-pod commands go through `nsenter --net=PATH`.
// The way back names our own netns as /proc/<our pid>/ns/net (ip resolves it after nsenter switched namespaces).
import { statfsSync } from 'node:fs';
import { CNI_CODES, CniError, CommandError } from './errors.ts';
import type { Runner } from './exec.ts';
import type { Logger } from './log.ts';
import type { NetdevState } from './cache.ts';
import type { Sysfs } from './sysfs.ts';

export interface IpLinkJson {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  altnames?: string[];
  operstate?: string;
  vfinfo_list?: VfInfoJson[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

export interface VfInfoJson {
  vf: number;
  address?: string;
  mac?: string;
  vlan?: number;
  qos?: number;
  vlan_list?: Array<{ vlan?: number; qos?: number; protocol?: string }>;
  spoofchk?: boolean;
  trust?: boolean;
  link_state?: string;
  rate?: { max_tx?: number; min_tx?: number };
  tx_rate?: number;
}

const NSFS_MAGIC = 0x6e736673;

/** A network namespace path that still refers to a namespace (a bind mount of nsfs, or /proc/<pid>/ns/net). */
export function netnsAlive(path: string | undefined): boolean {
  if (!path) return false;
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

export function parseLinks(stdout: string): IpLinkJson[] {
  try {
    const v = JSON.parse(stdout || '[]') as unknown;
    return Array.isArray(v) ? (v as IpLinkJson[]) : [];
  } catch (e) {
    throw new CniError(CNI_CODES.decode, 'cannot parse `ip -j` output', (e as Error).message);
  }
}

export function netdevStateOf(l: IpLinkJson): NetdevState {
  return { name: l.ifname, mac: (l.address ?? '').toLowerCase(), mtu: l.mtu, up: l.flags.includes('UP'), altnames: l.altnames ?? [] };
}

export interface MoveIn {
  hostName: string;
  netns: string;
  ifname: string;
  mac?: string;
  mtu?: number;
}

/** The `ip` command that moves a netdev into the pod, renamed, with its MTU, up. */
export function moveIntoPodLine(m: Omit<MoveIn, 'mac'>): string {
  const opts = [`name ${m.ifname}`];
  if (m.mtu) opts.push(`mtu ${m.mtu}`);
  return `link set dev ${m.hostName} netns ${m.netns} ${opts.join(' ')} up`;
}

export function moveIntoPod(runner: Runner, m: MoveIn): void {
  // the MAC after the move and up: a VF whose MAC its PF just set takes that MAC when it opens (see setAddress)
  runner.ipBatch([moveIntoPodLine(m)]);
  if (m.mac) setAddressOnce(runner, m.ifname, m.mac, m.netns);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Sets a netdev's MAC. A VF whose MAC its PF has set refuses any change of its own — igb answers "Cannot assign
 * requested address" however the MAC compares — and takes the PF's MAC when it resets, which closing it does. So on
 * that refusal the netdev is closed and reopened (or opened and closed) until it shows the wanted MAC; if it never
 * does, the refusal stands.
 */
export function setAddress(runner: Runner, dev: string, mac: string, netns?: string): void {
  const show = () => parseLinks(runner.ip(['-j', 'link', 'show', 'dev', dev], { netns }).stdout)[0];
  if (show()?.address?.toLowerCase() === mac.toLowerCase()) return;
  try {
    runner.ip(['link', 'set', 'dev', dev, 'address', mac], { netns });
  } catch (e) {
    if (!(e instanceof CommandError) || !/Cannot assign requested address/.test(e.stderr)) throw e;
    // igbvf resets when it is closed (igbvf_down) and asks the PF for its MAC then: close and reopen, or open and
    // close, and look after each
    const wasUp = show()?.flags.includes('UP') ?? false;
    const want = mac.toLowerCase();
    let now = show()?.address?.toLowerCase();
    for (const state of wasUp ? ['down', 'up'] : ['up', 'down']) {
      runner.ip(['link', 'set', 'dev', dev, state], { netns });
      for (let i = 0; i < 20 && now !== want; i++) {
        sleepMs(50);
        now = show()?.address?.toLowerCase();
      }
    }
    if (now !== want) throw e;
  }
}

/**
 * setAddress in one `ip` call when the driver takes the MAC (setting the MAC a netdev already has changes nothing),
 * and setAddress itself, which looks first, when it refuses.
 */
export function setAddressOnce(runner: Runner, dev: string, mac: string, netns?: string): void {
  try {
    runner.ip(['link', 'set', 'dev', dev, 'address', mac], { netns });
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    setAddress(runner, dev, mac, netns);
  }
}

/** Adds the IPAM addresses and routes to the pod interface. */
export function configureAddresses(runner: Runner, netns: string, ifname: string, ips: Array<{ address: string }>, routes: Array<{ dst: string; gw?: string }>): void {
  const lines: string[] = [];
  for (const ip of ips) lines.push(`address add ${ip.address} dev ${ifname}${ip.address.includes(':') ? ' nodad' : ''}`);
  for (const r of routes) lines.push(`route add ${r.dst}${r.gw ? ` via ${r.gw}` : ''} dev ${ifname}`);
  if (lines.length) runner.ipBatch(lines, { netns });
}

export type ReturnOutcome = 'returned' | 'already-home' | 'gone';

export interface ReturnArgs {
  /** the device's PCI address: the only identity that survives renames and namespace moves */
  pciAddr?: string;
  original: NetdevState;
  /** name in the pod */
  ifname: string;
  netns?: string;
}

/**
 * Brings a netdev back to this namespace under its original name, MAC and MTU, wherever it is now: still in the
 * pod, already here under another name (the pod's netns was destroyed and the kernel moved it back, or an earlier
 * DEL stopped half-way), or nowhere (a destroyed virtual device). Safe to repeat.
 */
export function returnNetdev(runner: Runner, sysfs: Sysfs, log: Logger, a: ReturnArgs): ReturnOutcome {
  const o = a.original;
  // normally the netdev is in the pod: with the pod's netns alive the move is tried first and this namespace is
  // looked at only when the netdev is not there (a listing of a device's netdevs is the dearest sysfs read)
  if (!netnsAlive(a.netns)) {
    const here = findHere(sysfs, a);
    if (here) {
      fixHere(runner, here, o);
      return 'already-home';
    }
    log.warn(`${a.pciAddr ?? o.name}: not in this namespace and the pod netns ${a.netns ?? '(none)'} is gone; nothing to move back`);
    return 'gone';
  }
  const netns = a.netns!;
  // up in the same netlink request: the kernel closes a netdev it moves (__dev_change_net_namespace), and with the
  // up as a command of its own a device plugin polling operstate saw a NIC that was up before the pod down, and
  // reported it Unhealthy, for as long as that next ip took (0.4–2 s in a TCG guest)
  const moveLine = `link set dev ${a.ifname} netns /proc/${process.pid}/ns/net name ${o.name} mtu ${o.mtu}${o.up ? ' up' : ''}`;
  {
    try {
      runner.ipBatch([moveLine], { netns });
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      // find out why before retrying: a rename onto the device's own altname fails with "File exists"
      const inPod = parseLinks(runner.ip(['-j', 'link', 'show'], { netns }).stdout);
      const dev = inPod.find((l) => l.ifname === a.ifname);
      if (!dev) {
        const again = findHere(sysfs, a);
        if (again) {
          fixHere(runner, again, o);
          return 'already-home';
        }
        log.warn(`${a.pciAddr ?? o.name}: ${a.ifname} is not in ${netns} and not here; nothing to move back`);
        return 'gone';
      }
      const lines: string[] = [];
      if (dev.altnames?.includes(o.name)) lines.push(`link property del dev ${a.ifname} altname ${o.name}`);
      if (lines.length === 0) throw e;
      lines.push(moveLine);
      runner.ipBatch(lines, { netns });
    }
  }
  try {
    setAddressOnce(runner, o.name, o.mac);
  } catch (e) {
    // a driver that cannot change its MAC while up: down, MAC, up
    if (!o.up || !(e instanceof CommandError) || !/Device or resource busy/.test(e.stderr)) throw e;
    runner.ip(['link', 'set', 'dev', o.name, 'down']);
    setAddress(runner, o.name, o.mac);
    runner.ip(['link', 'set', 'dev', o.name, 'up']);
  }
  return 'returned';
}

function findHere(sysfs: Sysfs, a: ReturnArgs): string | undefined {
  if (a.pciAddr) return sysfs.netdevs(a.pciAddr)[0];
  // a device without PCI identity: recognised by name, in this namespace
  return sysfs.netdevNames().includes(a.original.name) ? a.original.name : undefined;
}

function fixHere(runner: Runner, name: string, o: NetdevState): void {
  const lines: string[] = [];
  if (name !== o.name) {
    const links = parseLinks(runner.ip(['-j', 'link', 'show', 'dev', name]).stdout);
    lines.push(`link set dev ${name} down`);
    if (links[0]?.altnames?.includes(o.name)) lines.push(`link property del dev ${name} altname ${o.name}`);
    lines.push(`link set dev ${name} name ${o.name}`);
  }
  lines.push(`link set dev ${o.name} mtu ${o.mtu} down`);
  runner.ipBatch(lines);
  setAddress(runner, o.name, o.mac);
  if (o.up) runner.ip(['link', 'set', 'dev', o.name, 'up']);
}
