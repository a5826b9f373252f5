// Network namespaces and netdevs over iproute2, batched: one `ip -batch -` per namespace for a set of changes,
// veth peers created directly in their target namespaces, and cleanup by deleting whole namespaces (a veth
// delete costs ~25 ms, a namespace delete takes all its links with it). NetnsRegistry remembers what it made
// and removes exactly that — from t.teardown, and from the CLI on exit or a signal.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

export interface ExecResult {
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A command that failed: the same fields as a result, a one-line shortMessage, and the cause when it never ran. */
export class ExecError extends Error {
  readonly command: string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly shortMessage: string;
  constructor(
    f: { command: string[]; exitCode: number | null; signal?: NodeJS.Signals | null; stdout: string; stderr: string; durationMs: number },
    detail?: string,
    cause?: unknown,
  ) {
    const how = f.signal ? `killed by ${f.signal}` : f.exitCode === null ? 'could not be started' : `exited with status ${f.exitCode}`;
    const shortMessage = `Command ${how}: ${f.command.join(' ')}`;
    const firstErr = f.stderr.trim().split('\n')[0];
    super([shortMessage, detail, firstErr].filter(Boolean).join('\n'), cause === undefined ? undefined : { cause });
    this.name = 'ExecError';
    this.command = f.command;
    this.exitCode = f.exitCode;
    this.signal = f.signal ?? null;
    this.stdout = f.stdout;
    this.stderr = f.stderr;
    this.durationMs = f.durationMs;
    this.shortMessage = shortMessage;
  }
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

/** Runs a command to completion; resolves with its output, rejects with an ExecError if it does not exit 0. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  const command = [file, ...args];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => {
      reject(new ExecError({ command, exitCode: null, stdout, stderr, durationMs: performance.now() - t0 }, e.message, e));
    });
    child.on('close', (code, signal) => {
      const r = { command, exitCode: code ?? -1, stdout, stderr, durationMs: performance.now() - t0 };
      if (code === 0) resolve(r);
      else reject(new ExecError({ ...r, exitCode: code, signal }, batchFailure(opts.input, stderr)));
    });
  });
}

/** The same, synchronously, for exit handlers where nothing asynchronous runs any more. */
export function runSync(file: string, args: readonly string[], opts: RunOptions = {}): ExecResult {
  const command = [file, ...args];
  const t0 = performance.now();
  const r = spawnSync(file, args, { input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs });
  const res = { command, exitCode: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', durationMs: performance.now() - t0 };
  if (r.error) throw new ExecError({ ...res, exitCode: null }, r.error.message, r.error);
  if (r.status !== 0) throw new ExecError({ ...res, exitCode: r.status, signal: r.signal }, batchFailure(opts.input, res.stderr));
  return res;
}

/** `ip -batch` names the failing line ("Command failed -:3"); say which command that was. */
function batchFailure(input: string | undefined, stderr: string): string | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  if (!m || input === undefined) return undefined;
  return `batch line ${m[1]}: ${input.split('\n')[Number(m[1]) - 1] ?? '?'}`;
}

export interface IpOptions {
  /** the ip binary (default: `ip` on PATH) */
  ipPath?: string;
  /** run inside this named namespace (`ip -n NAME`) */
  netns?: string;
}

function ipArgs(netns: string | undefined, args: readonly string[]): string[] {
  return netns ? ['-n', netns, ...args] : [...args];
}

export function ip(args: readonly string[], opts: IpOptions & RunOptions = {}): Promise<ExecResult> {
  return run(opts.ipPath ?? 'ip', ipArgs(opts.netns, args), opts);
}

/**
 * Runs iproute2 commands (without the leading `ip`) in one process. Stops at the first failure unless `force`,
 * which runs them all and fails at the end if any failed.
 */
export async function ipBatch(commands: readonly string[], opts: IpOptions & { force?: boolean } = {}): Promise<ExecResult | null> {
  if (commands.length === 0) return null;
  const args = ipArgs(opts.netns, [...(opts.force ? ['-force'] : []), '-batch', '-']);
  return run(opts.ipPath ?? 'ip', args, { input: `${commands.join('\n')}\n` });
}

function ipBatchSync(commands: readonly string[], opts: IpOptions & { force?: boolean } = {}): ExecResult | null {
  if (commands.length === 0) return null;
  const args = ipArgs(opts.netns, [...(opts.force ? ['-force'] : []), '-batch', '-']);
  return runSync(opts.ipPath ?? 'ip', args, { input: `${commands.join('\n')}\n` });
}

/** Named namespaces as `ip netns list` sees them (the files under /run/netns). */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns').sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** A link as `ip -j -d link show` reports it; the fields we use are typed, the rest kept as iproute2 names them. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  link_type: string;
  address?: string;
  /** peer name (same namespace) */
  link?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  [key: string]: unknown;
}

export async function listLinks(netns?: string, opts: IpOptions = {}): Promise<IpLink[]> {
  const r = await ip(['-j', '-d', 'link', 'show'], { ...opts, netns });
  return r.stdout.trim() ? (JSON.parse(r.stdout) as IpLink[]) : [];
}

/** `undefined` netns = the namespace this process runs in. */
export interface VethSpec {
  name: string;
  netns?: string;
  peer: string;
  peerNetns?: string;
  mac?: string;
  peerMac?: string;
  mtu?: number;
  peerMtu?: number;
  up?: boolean;
  peerUp?: boolean;
}

export interface LinkSettings {
  name: string;
  mac?: string;
  mtu?: number;
  up?: boolean;
  /** rename */
  newName?: string;
}

const IFNAMSIZ = 15;

function checkIfname(name: string): void {
  if (!name || name.length > IFNAMSIZ || /[\s/:]/.test(name)) {
    throw new RangeError(`invalid interface name "${name}": 1-${IFNAMSIZ} characters, no whitespace, "/" or ":"`);
  }
}

function linkAttrs(mac: string | undefined, mtu: number | undefined): string[] {
  return [...(mac ? ['address', mac] : []), ...(mtu !== undefined ? ['mtu', String(mtu)] : [])];
}

/** Commands grouped by the namespace they must run in, so each namespace costs one ip process. */
function byNetns<T>(items: readonly T[], ns: (t: T) => string | undefined): Map<string | undefined, T[]> {
  const m = new Map<string | undefined, T[]>();
  for (const it of items) {
    const k = ns(it);
    m.set(k, [...(m.get(k) ?? []), it]);
  }
  return m;
}

const key = (netns: string | undefined, name: string): string => `${netns ?? ''}\0${name}`;

let registryCounter = 0;

/**
 * Creates namespaces and links and remembers them; `cleanup()` removes exactly what it created. Links whose
 * namespace the registry owns are not deleted one by one: deleting the namespace takes them (and their veth
 * peers) along. Links it created elsewhere (e.g. in the caller's namespace) are deleted explicitly.
 */
export class NetnsRegistry {
  readonly ipPath: string;
  private readonly ownNetns = new Set<string>();
  /** links created outside namespaces we own: key(netns, name) → where they are */
  private readonly foreignLinks = new Map<string, { netns: string | undefined; name: string }>();
  private readonly prefix: string;
  private names = 0;
  private exitHandlers: (() => void) | null = null;

  constructor(opts: { ipPath?: string; prefix?: string } = {}) {
    this.ipPath = opts.ipPath ?? 'ip';
    this.prefix = opts.prefix ?? `sl${process.pid.toString(36)}${(registryCounter++).toString(36)}`;
  }

  /** A namespace name no other registry (in this or another process) will pick. */
  uniqueName(tag: string): string {
    return `${this.prefix}-${(this.names++).toString(36)}-${tag}`;
  }

  get namespaces(): string[] {
    return [...this.ownNetns].sort();
  }

  async addNetns(...names: string[]): Promise<void> {
    for (const n of names) if (!n || n.includes('/')) throw new RangeError(`invalid namespace name "${n}"`);
    // remember them first: a batch that fails half-way has still created some, and cleanup must find them
    for (const n of names) this.ownNetns.add(n);
    try {
      await ipBatch(names.map((n) => `netns add ${n}`), { ipPath: this.ipPath });
    } catch (e) {
      const present = new Set(listNetns());
      for (const n of names) if (!present.has(n)) this.ownNetns.delete(n);
      throw e;
    }
  }

  async deleteNetns(...names: string[]): Promise<void> {
    await ipBatch(names.map((n) => `netns del ${n}`), { ipPath: this.ipPath, force: true }).catch((e: unknown) => {
      const present = new Set(listNetns());
      if (names.some((n) => present.has(n))) throw e;
    });
    for (const n of names) this.ownNetns.delete(n);
  }

  private track(netns: string | undefined, name: string): void {
    if (netns === undefined || !this.ownNetns.has(netns)) this.foreignLinks.set(key(netns, name), { netns, name });
  }

  /** Creates veth pairs with each end directly in its namespace, then brings up the ends asked for. */
  async addVeths(specs: readonly VethSpec[]): Promise<void> {
    const existing = new Set(listNetns());
    for (const s of specs) {
      checkIfname(s.name);
      checkIfname(s.peer);
      for (const ns of [s.netns, s.peerNetns]) {
        if (ns !== undefined && !existing.has(ns)) throw new RangeError(`network namespace "${ns}" does not exist (see ip netns list)`);
      }
    }
    const add = specs.map((s) =>
      [
        'link', 'add', s.name, ...linkAttrs(s.mac, s.mtu), ...(s.netns ? ['netns', s.netns] : []),
        'type', 'veth', 'peer', 'name', s.peer, ...linkAttrs(s.peerMac, s.peerMtu ?? s.mtu), ...(s.peerNetns ? ['netns', s.peerNetns] : []),
      ].join(' '),
    );
    for (const s of specs) {
      this.track(s.netns, s.name);
      this.track(s.peerNetns, s.peer);
    }
    try {
      await ipBatch(add, { ipPath: this.ipPath });
    } catch (e) {
      await this.forgetMissing(specs.flatMap((s) => [{ netns: s.netns, name: s.name }, { netns: s.peerNetns, name: s.peer }]));
      throw e;
    }
    const ups = [
      ...specs.filter((s) => s.up).map((s) => ({ netns: s.netns, name: s.name, up: true })),
      ...specs.filter((s) => s.peerUp).map((s) => ({ netns: s.peerNetns, name: s.peer, up: true })),
    ];
    await Promise.all([...byNetns(ups, (u) => u.netns)].map(([ns, list]) => this.setLinks(ns, list)));
  }

  /** MAC, MTU, admin state and name of links in one namespace, in one ip process. */
  async setLinks(netns: string | undefined, settings: readonly LinkSettings[]): Promise<void> {
    const cmds = settings.map((s) =>
      [
        'link', 'set', 'dev', s.name, ...linkAttrs(s.mac, s.mtu), ...(s.newName ? ['name', s.newName] : []),
        ...(s.up === undefined ? [] : [s.up ? 'up' : 'down']),
      ].join(' '),
    );
    await ipBatch(cmds, { ipPath: this.ipPath, netns });
    for (const s of settings) {
      if (s.newName && this.foreignLinks.delete(key(netns, s.name))) this.track(netns, s.newName);
    }
  }

  /** Moves links to another namespace (`toNetns` undefined is not allowed: name the target). */
  async moveLinks(fromNetns: string | undefined, names: readonly string[], toNetns: string): Promise<void> {
    await ipBatch(names.map((n) => `link set dev ${n} netns ${toNetns}`), { ipPath: this.ipPath, netns: fromNetns });
    for (const n of names) {
      if (this.foreignLinks.delete(key(fromNetns, n))) this.track(toNetns, n);
    }
  }

  /** Deletes links (a veth's peer goes with it). Prefer deleting a whole namespace: each link costs ~25 ms. */
  async deleteLinks(netns: string | undefined, names: readonly string[]): Promise<void> {
    await ipBatch(names.map((n) => `link del dev ${n}`), { ipPath: this.ipPath, netns });
    for (const n of names) this.foreignLinks.delete(key(netns, n));
  }

  listLinks(netns?: string): Promise<IpLink[]> {
    return listLinks(netns, { ipPath: this.ipPath });
  }

  private async forgetMissing(links: Array<{ netns: string | undefined; name: string }>): Promise<void> {
    for (const [ns, list] of byNetns(links, (l) => l.netns)) {
      if (ns !== undefined && !listNetns().includes(ns)) {
        for (const l of list) this.foreignLinks.delete(key(ns, l.name));
        continue;
      }
      const present = new Set((await this.listLinks(ns).catch(() => [])).map((l) => l.ifname));
      for (const l of list) if (!present.has(l.name)) this.foreignLinks.delete(key(ns, l.name));
    }
  }

  private cleanupPlan(): { links: Map<string | undefined, string[]>; netns: string[] } {
    const links = byNetns([...this.foreignLinks.values()], (l) => l.netns);
    return {
      links: new Map([...links].map(([ns, list]) => [ns, list.map((l) => `link del dev ${l.name}`)])),
      netns: [...this.ownNetns].map((n) => `netns del ${n}`),
    };
  }

  /**
   * Removes everything this registry created: its foreign links first (their veth peers may sit in our
   * namespaces), then its namespaces in one batch. Tries everything; throws the first failure afterwards.
   */
  async cleanup(): Promise<void> {
    const plan = this.cleanupPlan();
    const errors: unknown[] = [];
    for (const [ns, cmds] of plan.links) {
      // a link may already be gone (its peer's namespace was deleted, or a test removed it): -force, then check
      await ipBatch(cmds, { ipPath: this.ipPath, netns: ns, force: true }).catch(() => undefined);
    }
    await ipBatch(plan.netns, { ipPath: this.ipPath, force: true }).catch((e: unknown) => errors.push(e));
    await this.verifyGone(errors);
    this.forgetAll();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `netns cleanup: ${errors.length} failures`);
  }

  /** cleanup() for exit handlers: synchronous. */
  cleanupSync(): void {
    const plan = this.cleanupPlan();
    for (const [ns, cmds] of plan.links) {
      try {
        ipBatchSync(cmds, { ipPath: this.ipPath, netns: ns, force: true });
      } catch {
        // already gone, checked by the caller's view of the system if it cares
      }
    }
    try {
      ipBatchSync(plan.netns, { ipPath: this.ipPath, force: true });
    } finally {
      this.forgetAll();
    }
  }

  private async verifyGone(errors: unknown[]): Promise<void> {
    const left = new Set(listNetns());
    const stuck = [...this.ownNetns].filter((n) => left.has(n));
    if (stuck.length) errors.push(new Error(`namespaces still present after cleanup: ${stuck.join(', ')}`));
    for (const [ns, list] of byNetns([...this.foreignLinks.values()], (l) => l.netns)) {
      if (ns !== undefined && !left.has(ns)) continue;
      const present = new Set((await this.listLinks(ns).catch(() => [])).map((l) => l.ifname));
      const still = list.filter((l) => present.has(l.name)).map((l) => l.name);
      if (still.length) errors.push(new Error(`links still present in ${ns ?? 'the current namespace'} after cleanup: ${still.join(', ')}`));
    }
  }

  private forgetAll(): void {
    this.ownNetns.clear();
    this.foreignLinks.clear();
  }

  /**
   * Cleans up on process exit and on SIGINT/SIGTERM/SIGHUP (then dies of the same signal, as it would have).
   * Returns a function that removes the handlers.
   */
  installExitHandlers(): () => void {
    if (this.exitHandlers) return this.exitHandlers;
    const onExit = () => this.cleanupSync();
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const onSignal = (sig: NodeJS.Signals) => {
      remove();
      try {
        this.cleanupSync();
      } finally {
        process.kill(process.pid, sig);
      }
    };
    const remove = () => {
      process.off('exit', onExit);
      for (const s of signals) process.off(s, onSignal);
      this.exitHandlers = null;
    };
    process.on('exit', onExit);
    for (const s of signals) process.on(s, onSignal);
    this.exitHandlers = remove;
    return remove;
  }
}
