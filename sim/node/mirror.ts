// Keeps real netdevs in a node's network namespace in step with the kernel model, both ways:
// - model → real: each model netdev is one end of a veth pair in the node netns; the other end sits in the node's
//   "fabric" netns on a bridge (the NIC's embedded switch), so carrier follows the model's link state;
// - real → model: links moved out (into a pod), renamed, re-addressed or brought up are reported back to the model,
//   so /sys/class/net shows what the node's netns really holds. The fabric peer never moves: it is the identity.
import { spawn } from 'node:child_process';
import type { NetdevChange, SysfsModel } from '../kernel/model.ts';

export interface MirrorOptions {
  netns: string;
  fabricNetns: string;
  /** path of iproute2's ip (the real one, not the node's wrapper) */
  ipPath?: string;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  link_index?: number;
  link_netnsid?: number;
  operstate?: string;
}

export class IpError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly durationMs: number,
  ) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim()}`);
    this.name = 'IpError';
  }
}

/** Runs ip with optional batch input; resolves stdout. */
export function ip(args: string[], opts: { stdin?: string; ipPath?: string } = {}): Promise<string> {
  const bin = opts.ipPath ?? 'ip';
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', (e) => reject(new IpError(`${bin} ${args.join(' ')}`, null, e.message, Date.now() - t0)));
    p.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new IpError(`${bin} ${args.join(' ')}${opts.stdin ? ` <<< ${opts.stdin.trim()}` : ''}`, code, err, Date.now() - t0));
    });
    if (p.stdin) {
      p.stdin.on('error', () => undefined); // ip may exit before reading all of its batch; the exit status tells
      p.stdin.end(opts.stdin);
    }
  });
}

/**
 * One long-lived `ip -n NETNS -j -batch -`: a listing costs a line written and a JSON line read (~1 ms), not a
 * process (~5 ms and a fork of the serving process). iproute2 answers each batch line with a fresh netlink dump and
 * flushes its output after each. A failing line ends the process (no -force): its waiters get the error, and the
 * next request starts a new one.
 */
export class IpSession {
  private proc: ReturnType<typeof spawn> | null = null;
  private readonly waiting: Array<{ line: string; resolve: (out: string) => void; reject: (e: Error) => void; t0: number }> = [];
  private stopped = false;

  constructor(
    private readonly netns: string,
    private readonly ipPath?: string,
  ) {}

  /** the JSON ip prints for one batch line, e.g. `link show` */
  request(line: string): Promise<string> {
    if (this.stopped) return Promise.reject(new IpError(`ip -n ${this.netns} -j ${line}`, null, 'the session is stopped', 0));
    const p = this.proc ?? this.start();
    return new Promise((resolve, reject) => {
      this.waiting.push({ line, resolve, reject, t0: Date.now() });
      p.stdin!.write(`${line}\n`);
    });
  }

  private start(): ReturnType<typeof spawn> {
    const bin = this.ipPath ?? 'ip';
    const p = spawn(bin, ['-n', this.netns, '-j', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = p;
    let out = '';
    let err = '';
    p.stdin!.on('error', () => undefined); // ended on its own: 'close' tells the waiters
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        this.waiting.shift()?.resolve(line);
      }
    });
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const fail = (code: number | null, why: string) => {
      if (this.proc === p) this.proc = null;
      for (const w of this.waiting.splice(0)) w.reject(new IpError(`${bin} -n ${this.netns} -j ${w.line}`, code, why, Date.now() - w.t0));
    };
    p.on('error', (e) => fail(null, e.message));
    p.on('close', (code) => fail(code, err || `ip exited (${code}) before answering`));
    return p;
  }

  stop(): void {
    this.stopped = true;
    this.proc?.stdin?.end();
    this.proc?.kill();
    this.proc = null;
  }
}

/** the fabric-side name of a device's veth: stable, unique per node, ≤ 15 characters */
export function fabricPeerName(pciAddr: string): string {
  return `p${pciAddr.replace(/[:.]/g, '').replace(/^0000/, '')}`;
}

export const FABRIC_BRIDGE = 'esw0';

export class NetdevMirror {
  private readonly netns: string;
  private readonly fab: string;
  private readonly ipPath: string | undefined;
  /** pciAddr → ifindex of the fabric peer */
  private readonly peers = new Map<string, number>();
  private fabNsid: number | undefined;
  private dirty = true;
  private syncing: Promise<void> | null = null;
  private monitor: ReturnType<typeof spawn> | null = null;
  private fabMonitor: ReturnType<typeof spawn> | null = null;
  /** the listings of each netns, asked after every netlink event: one ip process each for the node's life */
  private readonly nodeIp: IpSession;
  private readonly fabIp: IpSession;

  constructor(
    private readonly model: SysfsModel,
    opts: MirrorOptions,
  ) {
    this.netns = opts.netns;
    this.fab = opts.fabricNetns;
    this.ipPath = opts.ipPath;
    this.nodeIp = new IpSession(this.netns, this.ipPath);
    this.fabIp = new IpSession(this.fab, this.ipPath);
  }

  private async links(session: IpSession): Promise<IpLink[]> {
    return JSON.parse(await session.request('link show')) as IpLink[];
  }

  private ip(args: string[], stdin?: string): Promise<string> {
    return ip(args, { stdin, ipPath: this.ipPath });
  }

  /** Creates the bridge and a real netdev for every model netdev, then watches the node netns. */
  async start(): Promise<void> {
    await this.ip(['-n', this.fab, '-batch', '-'], `link add ${FABRIC_BRIDGE} type bridge\nlink set ${FABRIC_BRIDGE} up\nlink set lo up\n`);
    await this.ip(['-n', this.netns, 'link', 'set', 'lo', 'up']);
    this.model.drainNetdevChanges();
    const initial: NetdevChange[] = this.model.netdevs().map(({ pciAddr, netdev }) => ({ kind: 'add', pciAddr, netdev: { ...netdev } }));
    await this.apply(initial);
    for (const { pciAddr, netdev } of this.model.netdevs()) {
      if (!netdev.carrier) await this.apply([{ kind: 'carrier', pciAddr, name: netdev.name, up: false }]);
    }
    this.monitor = spawn(this.ipPath ?? 'ip', ['-n', this.netns, 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.monitor.stdout?.on('data', () => {
      this.dirty = true;
    });
    // a VF end destroyed with a pod's netns takes its fabric peer along: watch the fabric too
    this.fabMonitor = spawn(this.ipPath ?? 'ip', ['-n', this.fab, 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.fabMonitor.stdout?.on('data', () => {
      this.dirty = true;
    });
    await this.sync();
  }

  stop(): void {
    this.monitor?.kill();
    this.monitor = null;
    this.fabMonitor?.kill();
    this.fabMonitor = null;
    this.nodeIp.stop();
    this.fabIp.stop();
  }

  /** Applies whatever the model changed since the last call. */
  async flush(): Promise<void> {
    const changes = this.model.drainNetdevChanges();
    if (changes.length) await this.apply(changes);
  }

  /** `returned`: the netdevs come back from a destroyed netns, so none is brought up (see returnOrphans) */
  private async apply(changes: NetdevChange[], o: { returned?: boolean } = {}): Promise<void> {
    const host: string[] = [];
    const fab: string[] = [];
    const nodeCmds: string[] = [];
    const added: string[] = [];
    for (const c of changes) {
      const peer = fabricPeerName(c.pciAddr);
      if (c.kind === 'add') {
        const nd = c.netdev;
        host.push(`link add name ${nd.name} address ${nd.mac} mtu ${nd.mtu} netns ${this.netns} type veth peer name ${peer} netns ${this.fab}`);
        fab.push(`link set ${peer} master ${FABRIC_BRIDGE}${nd.carrier ? ' up' : ''}`);
        added.push(c.pciAddr);
        // PFs and plain NICs come up configured on a node; the kernel creates VF netdevs down
        if (!o.returned && !this.model.devices.get(c.pciAddr)?.physfn) nodeCmds.push(`link set ${nd.name} up`);
      } else if (c.kind === 'remove') {
        // deleting the fabric end removes the pair wherever the VF end has been moved to
        fab.push(`link del ${peer}`);
        this.peers.delete(c.pciAddr);
      } else {
        fab.push(`link set ${peer} ${c.up ? 'up' : 'down'}`);
      }
    }
    if (host.length) await this.ip(['-batch', '-'], `${host.join('\n')}\n`);
    // -force: a peer may already be gone with a pod's netns; the rest of the batch must still apply
    if (fab.length) await this.ip(['-n', this.fab, '-force', '-batch', '-'], `${fab.join('\n')}\n`).catch((e: IpError) => {
      if (!/Cannot find device/.test(e.stderr)) throw e;
    });
    if (nodeCmds.length) await this.ip(['-n', this.netns, '-batch', '-'], `${nodeCmds.join('\n')}\n`);
    if (added.length) {
      const links = await this.links(this.fabIp);
      const byName = new Map(links.map((l) => [l.ifname, l.ifindex]));
      for (const a of added) {
        const idx = byName.get(fabricPeerName(a));
        if (idx !== undefined) this.peers.set(a, idx);
      }
    }
    this.dirty = true;
  }

  /**
   * A physical netdev whose network namespace is destroyed returns to the host's; a veth is destroyed instead. So
   * when a model netdev's fabric peer is gone (its pod netns was deleted), re-create it in the node under the name it
   * last had, as the kernel would (or `dev<N>` if that name is taken), and down: the kernel closes a netdev before it
   * moves it to another namespace (`__dev_change_net_namespace` calls `dev_close`, net/core/dev.c) and nothing
   * opens it again, so a PF or NIC that was up in the pod comes back admin-down.
   */
  private async returnOrphans(): Promise<void> {
    if (this.peers.size === 0) return;
    const fabLinks = await this.links(this.fabIp);
    const present = new Set(fabLinks.map((l) => l.ifindex));
    const orphans = this.model.netdevs().filter(({ pciAddr }) => this.peers.has(pciAddr) && !present.has(this.peers.get(pciAddr)!));
    if (orphans.length === 0) return;
    const nodeNames = new Set((await this.links(this.nodeIp)).map((l) => l.ifname));
    let n = 0;
    for (const { pciAddr, netdev } of orphans) {
      this.peers.delete(pciAddr);
      let name = netdev.name;
      while (nodeNames.has(name)) name = `dev${n++}`;
      nodeNames.add(name);
      this.model.updateNetdev(pciAddr, { name, adminUp: false });
      await this.apply([{ kind: 'add', pciAddr, netdev: { ...netdev, name, adminUp: false } }], { returned: true });
    }
  }

  /** Brings the model's netdev view (presence, name, MAC, MTU, admin state) up to date with the node netns. */
  async sync(force = false): Promise<void> {
    if (!this.dirty && !force) return;
    if (this.syncing) {
      // a forced sync must see the links as they are now, not as an in-flight one saw them when it started
      const inflight = this.syncing;
      await inflight;
      if (!force) return;
      if (this.syncing && this.syncing !== inflight) return this.syncing;
    }
    this.dirty = false;
    this.syncing = (async () => {
      if (this.fabNsid === undefined) {
        const ids = JSON.parse((await this.nodeIp.request('netns list-id')) || '[]') as Array<{ nsid: number; name?: string }>;
        this.fabNsid = ids.find((i) => i.name === this.fab)?.nsid;
      }
      await this.returnOrphans();
      const links = await this.links(this.nodeIp);
      for (const { pciAddr } of this.model.netdevs()) {
        const peerIdx = this.peers.get(pciAddr);
        if (peerIdx === undefined) continue;
        const l = links.find((x) => x.link_index === peerIdx && (this.fabNsid === undefined || x.link_netnsid === this.fabNsid));
        if (!l) {
          this.model.updateNetdev(pciAddr, { present: false });
          continue;
        }
        this.model.updateNetdev(pciAddr, {
          present: true,
          name: l.ifname,
          mac: l.address ?? '00:00:00:00:00:00',
          mtu: l.mtu,
          ifindex: l.ifindex,
          adminUp: l.flags.includes('UP'),
        });
      }
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }
}
