// Starting a QEMU VM for one lab node: q35 + intel-iommu (vfio in the guest needs an IOMMU; Debian kernels have no
// vfio noiommu), one pcie-root-port per NIC, an `igb` (82576, SR-IOV) per SR-IOV PF and a virtio-net-pci per virtio
// NIC, host /usr and /etc read-only and the project directory read-write over 9p, a virtio-serial agent and the
// serial console in a file. `startVm` returns an AsyncDisposable handle: `await using vm = await startVm(…)`.
//
// The guest runs host programs by chroot (/mnt/root: host /usr, an /etc overlay, tmpfs /run /var /opt /tmp, the
// project at its host path), so `vm.exec(['node', 'x.ts'])` runs the host's node on the guest kernel, and a node's
// kubelet emulator, device plugin and CNI find the node-standard paths (/var/lib/kubelet, /etc/cni/net.d,
// /opt/cni/bin, /sys, /run/netns) there.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import { getNicModel } from '../../sim/nics/catalog.ts';
import { projectRoot } from '../../sim/paths.ts';
import { AgentClient } from './agent-client.ts';
import { buildGuestArtefacts, type GuestArtefacts } from './artefacts.ts';
import { chooseAccel, type Accel } from './accel.ts';
import { addExitHook } from '../exit-hooks.ts';
import { errnoFromMessage } from '../node/errno.ts';
import { AGENT_PORT_NAME, BOOT_ERROR_MARKER, BOOT_MARKER, CHROOT, XFER_DIR_IN_CHROOT } from './guest-files.ts';

/** the sriov-lab checkout (also from a dist/ bundle), shared read-write with every guest at its host path */
export const PROJECT_DIR = projectRoot();
export const QEMU_BINARY = process.env.SRIOV_LAB_QEMU || 'qemu-system-x86_64';

export type VmNicKind = 'igb' | 'virtio-net';

export interface VmNicInput {
  kind: VmNicKind;
  /** lower-case aa:bb:cc:dd:ee:ff; the guest NIC is found by it */
  mac: string;
  /** the topology's PCI address and ifname, kept for mapping (the guest assigns its own) */
  topologyPciAddr?: string;
  topologyIfname?: string;
  /** NIC catalog model it stands for */
  model?: string;
}

export interface GuestNic extends VmNicInput {
  /** PCI address in the guest, e.g. 0000:01:00.0 */
  pciAddr: string;
  /** kernel netdev name in the guest (ethN), '' when the driver has no netdev */
  ifname: string;
  driver: string;
}

export interface Share {
  hostPath: string;
  /** default: the same path as on the host */
  guestPath?: string;
  readOnly?: boolean;
}

export interface StartVmOptions {
  name: string;
  /** NICs from a topology node (igb for SR-IOV models, virtio-net for virtio) … */
  node?: NodeSpec;
  /** … or given directly (appended after the node's) */
  nics?: VmNicInput[];
  artefacts?: GuestArtefacts;
  cpus?: number;
  memoryMiB?: number;
  /** default 'auto': KVM when the cached probe says it works, else TCG */
  accel?: 'auto' | Accel;
  /** shared read-write at the same path; default the sriov-lab checkout */
  projectDir?: string;
  shares?: Share[];
  /** extra virtio-serial ports: guest /dev/virtio-ports/<name> ↔ host unix socket <runDir>/<name>.sock (QEMU listens) */
  channels?: string[];
  /**
   * A management NIC (QEMU user networking, outside the topology): the guest reaches services the host listens on
   * at 127.0.0.1 through 10.0.2.2 (e.g. a cluster brain's API), and `hostForwards` publish guest ports on the host's
   * 127.0.0.1. In the guest it is `mgmt0`, 10.0.2.15/24, with the default route.
   */
  mgmt?: { hostForwards?: Array<{ hostPort: number; guestPort: number }> };
  /** console.log, agent.sock, qemu.pid, vm.json; default a fresh temp dir removed on stop */
  runDir?: string;
  bootTimeoutMs?: number;
  onProgress?: (line: string) => void;
  /** keep QEMU running after this process exits (sriov-lab vm up); otherwise it dies with us, even on SIGKILL */
  detached?: boolean;
  /** aborting it while the guest boots stops the VM and fails the start (Ctrl-C during `run`'s up) */
  signal?: AbortSignal;
}

export interface VmExecOptions {
  env?: Record<string, string>;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
  /** 'chroot' (default): host programs over the node-standard tree; 'guest': the initramfs's busybox */
  where?: 'chroot' | 'guest';
}

export interface VmExecResult {
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export class VmExecError extends Error {
  constructor(readonly result: VmExecResult) {
    super(`${result.command.join(' ')} exited with ${result.exitCode}${result.timedOut ? ' (timed out, killed)' : ''}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`);
    this.name = 'VmExecError';
  }
  get command(): string[] {
    return this.result.command;
  }
  get exitCode(): number {
    return this.result.exitCode;
  }
  get stderr(): string {
    return this.result.stderr;
  }
  get durationMs(): number {
    return this.result.durationMs;
  }
}

export class VmFileError extends Error {
  constructor(
    readonly path: string,
    readonly op: 'read' | 'write',
    readonly errno: string,
    readonly detail: string,
  ) {
    super(`${op} ${path}: ${errno} (${detail})`);
    this.name = 'VmFileError';
  }
}

export class VmStartError extends Error {
  constructor(
    message: string,
    readonly vm: string,
    readonly consoleTail: string,
  ) {
    super(consoleTail ? `${message}\n--- last console lines ---\n${consoleTail}` : message);
    this.name = 'VmStartError';
  }
}

/** Single-quotes for /bin/sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function nicsOfNode(node: NodeSpec): VmNicInput[] {
  return node.nics.map((n) => {
    const m = getNicModel(n.model);
    if (!m) throw new Error(`node ${node.name}: unknown NIC model ${n.model}`);
    if (m.pfDriver === 'virtio-pci') return { kind: 'virtio-net', mac: n.mac, topologyPciAddr: n.pciAddr, topologyIfname: n.ifname, model: n.model };
    if (m.totalVfs > 0) return { kind: 'igb', mac: n.mac, topologyPciAddr: n.pciAddr, topologyIfname: n.ifname, model: n.model };
    throw new Error(`node ${node.name}: NIC ${n.pciAddr} (${n.model}) has no SR-IOV and is not virtio: QEMU cannot stand in for it`);
  });
}

export interface QemuPlan {
  name: string;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  vmlinux: string;
  initramfs: string;
  runDir: string;
  nics: VmNicInput[];
  /** tag, host path, guest path, ro */
  shares: Array<{ tag: string; hostPath: string; guestPath: string; readOnly: boolean }>;
  channels: string[];
  mgmt?: { hostForwards: Array<{ hostPort: number; guestPort: number }> };
}

export const MGMT_MAC = '52:54:00:5a:00:01';

/** The guest's boot configuration: a shell fragment the rc sources, passed base64 on the kernel command line. */
export function guestConfig(plan: QemuPlan): string {
  const lines = plan.shares
    .filter((s) => s.tag !== 'usr' && s.tag !== 'etc')
    .map((s) => `${s.tag} ${s.guestPath} ${s.readOnly ? 'ro' : 'rw'} ${s.readOnly ? 'loose' : 'mmap'}`);
  return `SL_HOSTNAME=${shQuote(plan.name)}\nSL_SHARES=${shQuote(lines.join('\n'))}\n${plan.mgmt ? `SL_MGMT_MAC=${MGMT_MAC}\n` : ''}`;
}

export function qemuArgs(plan: QemuPlan, opts: { probe?: boolean } = {}): string[] {
  const cfg = Buffer.from(opts.probe ? 'SL_PROBE=1\n' : guestConfig(plan)).toString('base64');
  // no_timer_check: under TCG on a loaded host the kernel's early check that the timer interrupt arrives through the
  // IO-APIC can miss it and panic ("timer doesn't work through Interrupt-remapped IO-APIC"), the guest reset seen
  // during boot; the check is for broken chipsets, not for QEMU's
  const cmdline = ['console=ttyS0', 'quiet', 'loglevel=4', 'intel_iommu=on', 'iommu=pt', 'panic=-1', 'tsc=reliable', 'no_timer_check', `sl_cfg=${cfg}`];
  const a = [
    '-name', `sriov-lab-${plan.name}`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-machine', 'q35,kernel-irqchip=split',
    // multi-threaded TCG sometimes aborts during boot (iotlb_to_section assertion: a vCPU races a memory-map
    // update while the IOMMU and BARs are set up); one TCG thread for all vCPUs avoids it
    '-accel', plan.accel === 'kvm' ? 'kvm' : `tcg,thread=${process.env.SRIOV_LAB_TCG_THREAD === 'multi' ? 'multi' : 'single'}`,
    '-cpu', plan.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(plan.cpus), '-m', String(plan.memoryMiB),
    // before any PCI device: the IOMMU must see them all
    '-device', 'intel-iommu,intremap=on,caching-mode=on',
    '-kernel', plan.vmlinux, '-initrd', plan.initramfs, '-append', cmdline.join(' '),
    '-chardev', `file,id=con,path=${join(plan.runDir, 'console.log')}`, '-serial', 'chardev:con',
    '-device', 'virtio-serial-pci,id=vser',
    '-chardev', `socket,id=agent,path=${join(plan.runDir, 'agent.sock')},server=on,wait=off`,
    '-device', `virtserialport,bus=vser.0,chardev=agent,name=${AGENT_PORT_NAME}`,
  ];
  plan.channels.forEach((c, i) => {
    a.push('-chardev', `socket,id=ch${i},path=${join(plan.runDir, `${c}.sock`)},server=on,wait=off`, '-device', `virtserialport,bus=vser.0,chardev=ch${i},name=${c}`);
  });
  if (!opts.probe) {
    plan.shares.forEach((s, i) => {
      a.push('-fsdev', `local,id=fs${i},path=${s.hostPath},security_model=none${s.readOnly ? ',readonly=on' : ''}`, '-device', `virtio-9p-pci,fsdev=fs${i},mount_tag=${s.tag}`);
    });
  }
  if (plan.mgmt && !opts.probe) {
    const fwd = plan.mgmt.hostForwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join('');
    a.push('-netdev', `user,id=mgmt,net=10.0.2.0/24${fwd}`, '-device', `virtio-net-pci,netdev=mgmt,mac=${MGMT_MAC},bus=pcie.0`);
  }
  const mirror = opts.probe || plan.shares.length > INFRA_SLOTS.shares.length ? null : mirrorPlacement(plan.nics);
  if (mirror) {
    // the harness's own devices at fixed slots the topology does not use
    const at = (dev: string, slot: number) => {
      const i = a.indexOf(dev);
      if (i >= 0) a[i] = `${dev},addr=${slot.toString(16)}.0`;
    };
    at('virtio-serial-pci,id=vser', INFRA_SLOTS.vser);
    plan.shares.forEach((_, i) => {
      const j = a.findIndex((x) => x.startsWith(`virtio-9p-pci,fsdev=fs${i},`));
      if (j >= 0) a[j] += `,addr=${INFRA_SLOTS.shares[i].toString(16)}.0`;
    });
    const m = a.findIndex((x) => x.startsWith('virtio-net-pci,netdev=mgmt,'));
    if (m >= 0) a[m] = a[m].replace(',bus=pcie.0', `,bus=pcie.0,addr=${INFRA_SLOTS.mgmt.toString(16)}.0`);
    mirror.rootPorts.forEach((rp, k) => a.push('-device', `pcie-root-port,id=${rp.id},bus=pcie.0,chassis=${k + 1},addr=${rp.addr}`));
  }
  plan.nics.forEach((n, i) => {
    a.push('-netdev', `hubport,id=n${i},hubid=${i}`);
    let where: string;
    if (mirror) {
      const m = mirror.nics[i];
      where = `bus=${m.bus},addr=${m.addr}${m.multifunction ? ',multifunction=on' : ''}`;
    } else {
      // root ports at 00:1x.0 in NIC order, so firmware numbers their buses 1, 2, … and NIC i sits at 0000:0<i+1>:00.0
      a.push('-device', `pcie-root-port,id=rp${i},bus=pcie.0,chassis=${i + 1},addr=${(0x10 + i).toString(16)}.0`);
      where = `bus=rp${i}`;
    }
    a.push('-device', n.kind === 'igb' ? `igb,${where},netdev=n${i},mac=${n.mac}` : `virtio-net-pci,${where},netdev=n${i},mac=${n.mac},disable-legacy=off`);
  });
  return a;
}

/** Slots of pcie.0 the harness's own devices take when NICs mirror the topology (free of the topology's). */
const INFRA_SLOTS = { vser: 0x18, mgmt: 0x1e, shares: [0x19, 0x1a, 0x1b, 0x1c, 0x1d] };

/**
 * Where each NIC goes so that the guest sees the topology's PCI addresses: NICs on bus 0 on pcie.0 at their
 * slot.function; NICs on bus B > 0 behind the B-th root port (the kernel numbers root ports' buses 1, 2, … in slot
 * order; a bus the topology skips gets an empty root port), several functions of one device as a multifunction
 * device. Null when the topology cannot be mirrored (bus > 8, a slot other than 0 behind a root port — a PCIe link
 * has one device —, a function other than 0 behind a root port, a bus-0 slot the harness uses, a NIC without a topology address): NICs then go one per root
 * port in order.
 */
export function mirrorPlacement(nics: VmNicInput[]): { nics: Array<{ bus: string; addr: string; multifunction: boolean }>; rootPorts: Array<{ id: string; addr: string }> } | null {
  const parsed = nics.map((n) => /^0000:([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/.exec(n.topologyPciAddr ?? ''));
  if (parsed.length === 0 || parsed.some((m) => !m)) return null;
  const addrs = parsed.map((m) => ({ bus: parseInt(m![1], 16), slot: parseInt(m![2], 16), fn: parseInt(m![3], 16) }));
  const reserved = new Set([0, 0x1f, INFRA_SLOTS.vser, INFRA_SLOTS.mgmt, ...INFRA_SLOTS.shares]);
  const maxBus = Math.max(0, ...addrs.map((x) => x.bus));
  if (maxBus > 8) return null;
  for (const x of addrs) {
    if (x.bus > 0 && x.slot !== 0) return null;
    if (x.bus === 0 && (reserved.has(x.slot) || (x.slot >= 0x10 && x.slot < 0x10 + maxBus))) return null;
  }
  const keys = addrs.map((x) => `${x.bus}:${x.slot}.${x.fn}`);
  if (new Set(keys).size !== keys.length) return null;
  // functions > 0 behind a root port stay invisible: igb has ARI, and the kernel then follows its next-function
  // field, which QEMU leaves at 0 (measured: the second port of a multifunction igb never appears)
  if (addrs.some((x) => x.bus > 0 && x.fn !== 0)) return null;
  // a device without function 0 is not enumerated
  if (addrs.some((x) => !addrs.some((y) => y.bus === x.bus && y.slot === x.slot && y.fn === 0))) return null;
  const rootPorts = Array.from({ length: maxBus }, (_, b) => ({ id: `rp${b + 1}`, addr: `${(0x10 + b).toString(16)}.0` }));
  return {
    rootPorts,
    nics: addrs.map((x) => {
      const siblings = addrs.filter((y) => y.bus === x.bus && y.slot === x.slot);
      return {
        bus: x.bus === 0 ? 'pcie.0' : `rp${x.bus}`,
        addr: `${x.slot.toString(16)}.${x.fn}`,
        multifunction: x.fn === 0 && siblings.length > 1,
      };
    }),
  };
}

export interface Vm extends AsyncDisposable {
  readonly name: string;
  readonly runDir: string;
  readonly pid: number;
  readonly accel: Accel;
  readonly consolePath: string;
  readonly artefacts: GuestArtefacts;
  /** the NICs as the guest sees them (after boot), in the order given */
  readonly nics: readonly GuestNic[];
  /** ms from QEMU start to the agent's handshake */
  readonly bootMs: number;
  exec(argv: string[], opts?: VmExecOptions): Promise<VmExecResult>;
  /** exec that throws VmExecError on a non-zero exit */
  run(argv: string[], opts?: VmExecOptions): Promise<VmExecResult>;
  /** /bin/sh -c SCRIPT */
  sh(script: string, opts?: VmExecOptions): Promise<VmExecResult>;
  /** starts a long-running command in its own session, output to `logPath` (a guest path); returns the guest pid */
  spawn(argv: string[], opts?: Omit<VmExecOptions, 'input' | 'timeoutMs'> & { logPath?: string }): Promise<number>;
  /** paths are in the chroot (the node's view: /sys, /var/lib/kubelet, …) */
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: string | Buffer): Promise<void>;
  /** the serial console so far */
  console(): string;
  /** host unix socket of an extra virtio-serial channel */
  channelPath(name: string): string;
  /** kills QEMU (SIGTERM, then SIGKILL after 3 s) and removes the run dir's sockets (the whole dir if we made it) */
  stop(): Promise<void>;
  /** disconnects from the agent and leaves the VM running (detached VMs) */
  close(): void;
}

function buildScript(argv: string[], opts: VmExecOptions): string {
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', ...(opts.env ?? {}) };
  const assigns = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${JSON.stringify(k)}`);
    return `${k}=${shQuote(v)}`;
  });
  const cd = opts.cwd ? `cd ${shQuote(opts.cwd)} || exit 126\n` : '';
  // the agent's own environment is busybox init's (HOME, TERM, PATH); drop TERM and set ours without running
  // env(1): every exec costs ~0.1 s under TCG
  return `${cd}unset TERM\nexport ${assigns.join(' ')}\nexec ${argv.map(shQuote).join(' ')}\n`;
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

async function discoverNics(agent: AgentClient, nics: VmNicInput[]): Promise<GuestNic[]> {
  // every PCI network device: address, driver, ifname, MAC (from the netdev; the igb PF keeps the MAC we gave it)
  const script = `for d in /sys/bus/pci/devices/*; do
  c=$(cat $d/class); case $c in 0x0200*) ;; *) continue;; esac
  drv=$(basename "$(readlink $d/driver 2>/dev/null)" 2>/dev/null)
  for n in $d/net/* $d/virtio*/net/*; do [ -e "$n/address" ] && echo "\${d##*/} $drv \${n##*/} $(cat $n/address)"; done
done\n`;
  const r = await agent.exec(script, { where: 'guest', timeoutMs: 20_000 });
  const seen = r.stdout.toString().trim().split('\n').filter(Boolean).map((l) => l.split(' '));
  return nics.map((n) => {
    const hit = seen.find((s) => s[3] === n.mac.toLowerCase());
    return { ...n, pciAddr: hit?.[0] ?? '', driver: hit?.[1] ?? '', ifname: hit?.[2] ?? '' };
  });
}

/**
 * Boots a VM and waits for its agent. On any failure QEMU is killed and the run dir removed before the throw.
 * A QEMU that aborts during boot (an emulator bug, not a guest problem) is retried once.
 */
export async function startVm(opts: StartVmOptions): Promise<Vm> {
  try {
    return await startVmOnce(opts);
  } catch (e) {
    if (!(e instanceof VmStartError) || !/QEMU exited \(SIGABRT\)/.test(e.message)) throw e;
    opts.onProgress?.(`QEMU aborted while VM ${opts.name} booted; retrying once: ${e.message.split('\n')[0]}`);
    return startVmOnce(opts);
  }
}

async function startVmOnce(opts: StartVmOptions): Promise<Vm> {
  const say = opts.onProgress ?? (() => undefined);
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(opts.name)) throw new Error(`VM name ${JSON.stringify(opts.name)}: use lower-case letters, digits, '.', '-' (a hostname)`);
  const artefacts = opts.artefacts ?? (await buildGuestArtefacts({ onProgress: say }));
  const accel = !opts.accel || opts.accel === 'auto' ? await chooseAccel({ artefacts, onProgress: say }) : opts.accel;
  const ownRunDir = !opts.runDir;
  const runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), `sl-vm-${opts.name}-`));
  mkdirSync(runDir, { recursive: true });
  for (const f of ['console.log', 'agent.sock']) rmSync(join(runDir, f), { force: true });
  const projectDir = resolve(opts.projectDir ?? PROJECT_DIR);
  const xferDir = join(runDir, 'xfer');
  mkdirSync(xferDir, { recursive: true });
  const shares: QemuPlan['shares'] = [
    { tag: 'usr', hostPath: '/usr', guestPath: '/usr', readOnly: true },
    { tag: 'etc', hostPath: '/etc', guestPath: '/etc', readOnly: true },
    { tag: 'project', hostPath: projectDir, guestPath: projectDir, readOnly: false },
    { tag: 'xfer', hostPath: xferDir, guestPath: XFER_DIR_IN_CHROOT, readOnly: false },
    ...(opts.shares ?? []).map((s, i) => ({ tag: `share${i}`, hostPath: resolve(s.hostPath), guestPath: s.guestPath ?? resolve(s.hostPath), readOnly: !!s.readOnly })),
  ];
  for (const s of shares.slice(2)) {
    if (!s.guestPath.startsWith('/') || s.guestPath === '/' || /^\/(usr|etc|proc|sys|dev)(\/|$)/.test(s.guestPath)) throw new Error(`share ${s.hostPath}: guest path ${s.guestPath} would hide the node's own /usr, /etc, /proc, /sys or /dev`);
  }
  const nics = [...(opts.node ? nicsOfNode(opts.node) : []), ...(opts.nics ?? [])];
  if (nics.length > 16) throw new Error(`${nics.length} NICs: at most 16 per VM (one root port each)`);
  const plan: QemuPlan = {
    name: opts.name,
    accel,
    cpus: opts.cpus ?? 2,
    memoryMiB: opts.memoryMiB ?? 1024,
    vmlinux: artefacts.vmlinux,
    initramfs: artefacts.initramfs,
    runDir,
    nics,
    shares,
    channels: opts.channels ?? [],
    mgmt: opts.mgmt ? { hostForwards: opts.mgmt.hostForwards ?? [] } : undefined,
  };
  const args = qemuArgs(plan);
  const consolePath = join(runDir, 'console.log');
  writeFileSync(join(runDir, 'qemu.args'), `${JSON.stringify([QEMU_BINARY, ...args])}\n`);
  say(`starting VM ${opts.name} (${accel}, ${nics.length} NIC${nics.length === 1 ? '' : 's'}); console: ${consolePath}`);
  const t0 = performance.now();
  // setpriv --pdeathsig: QEMU dies with this process even if it is SIGKILLed and no handler runs
  const [cmd, cmdArgs] = opts.detached ? [QEMU_BINARY, args] : ['setpriv', ['--pdeathsig', 'KILL', '--', QEMU_BINARY, ...args]];
  const stderrPath = join(runDir, 'qemu.stderr');
  const errFd = openSync(stderrPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn(cmd, cmdArgs as string[], { stdio: ['ignore', 'ignore', errFd], detached: !!opts.detached });
  } finally {
    closeSync(errFd);
  }
  let exited: string | undefined;
  const exitedP = new Promise<void>((res) => {
    child.once('exit', (code, sig) => {
      exited = `QEMU exited (${sig ?? `code ${code}`}): ${readFileSync(stderrPath, 'utf8').trim().split('\n').slice(-5).join('\n')}`;
      res();
    });
    child.once('error', (e) => {
      exited = `cannot start ${QEMU_BINARY}: ${e.message}`;
      res();
    });
  });
  if (opts.detached) child.unref();
  const pid = child.pid ?? -1;
  writeFileSync(join(runDir, 'qemu.pid'), `${pid}\n`);

  const agent = new AgentClient(join(runDir, 'agent.sock'), xferDir);
  let stopped = false;
  const killNow = (): void => {
    if (exited === undefined && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    agent.close();
    if (exited === undefined && pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const t = setTimeout(killNow, 3000);
      await exitedP;
      clearTimeout(t);
    }
    removeHook();
    if (ownRunDir) rmSync(runDir, { recursive: true, force: true });
    else for (const f of ['agent.sock', 'qemu.pid', 'xfer', ...plan.channels.map((c) => `${c}.sock`)]) rmSync(join(runDir, f), { recursive: true, force: true });
  };
  // a detached VM is protected until it booted; after that it outlives us on purpose
  const removeHook = addExitHook({ name: `VM ${opts.name} (pid ${pid})`, sync: killNow, async: stop });

  const bootError = (): string | undefined => {
    if (exited) return exited;
    if (opts.signal?.aborted) return 'interrupted while the guest booted';
    const con = tail(consolePath, 200);
    const m = con.split('\n').find((l) => l.includes(BOOT_ERROR_MARKER));
    return m ? `guest set-up failed: ${m.trim()}` : undefined;
  };
  let guestNics: GuestNic[];
  let bootMs: number;
  try {
    const bootTimeoutMs = opts.bootTimeoutMs ?? (accel === 'kvm' ? 60_000 : 120_000);
    await agent.connect({ timeoutMs: bootTimeoutMs, isDead: bootError });
    bootMs = performance.now() - t0;
    if (!tail(consolePath, 400).includes(BOOT_MARKER)) throw new Error('the agent answered but the console shows no boot marker');
    guestNics = await discoverNics(agent, nics);
    const missing = guestNics.filter((n) => !n.pciAddr);
    if (missing.length) throw new Error(`guest has no NIC with MAC ${missing.map((n) => n.mac).join(', ')}`);
    say(`VM ${opts.name} up in ${(bootMs / 1000).toFixed(1)} s: ${guestNics.map((n) => `${n.pciAddr} ${n.driver} ${n.ifname}`).join('; ') || 'no NICs'}`);
  } catch (e) {
    const conTail = tail(consolePath);
    await stop();
    throw new VmStartError(`VM ${opts.name} did not start: ${(e as Error).message}`, opts.name, conTail);
  }
  if (opts.detached) removeHook();
  writeFileSync(join(runDir, 'vm.json'), `${JSON.stringify({ name: opts.name, pid, accel, runDir, nics: guestNics, artefacts, projectDir, startedAt: new Date().toISOString() }, null, 2)}\n`);
  return makeHandle({ name: opts.name, runDir, pid, accel, consolePath, artefacts, nics: guestNics, bootMs, agent, stop, channels: plan.channels });
}

interface HandleParts {
  name: string;
  runDir: string;
  pid: number;
  accel: Accel;
  consolePath: string;
  artefacts: GuestArtefacts;
  nics: GuestNic[];
  bootMs: number;
  agent: AgentClient;
  stop: () => Promise<void>;
  channels: string[];
}

export function makeHandle(p: HandleParts): Vm {
  const exec = async (argv: string[], o: VmExecOptions = {}): Promise<VmExecResult> => {
    if (argv.length === 0) throw new Error('exec: empty command');
    const t0 = performance.now();
    const r = await p.agent.exec(buildScript(argv, o), { input: o.input, where: o.where ?? 'chroot', timeoutMs: o.timeoutMs });
    return { command: argv, exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString(), durationMs: performance.now() - t0, timedOut: r.timedOut };
  };
  const inRoot = (path: string): string => {
    if (!path.startsWith('/')) throw new Error(`${path}: guest paths must be absolute`);
    return `${CHROOT}${path}`;
  };
  const vm: Vm = {
    name: p.name,
    runDir: p.runDir,
    pid: p.pid,
    accel: p.accel,
    consolePath: p.consolePath,
    artefacts: p.artefacts,
    nics: p.nics,
    bootMs: p.bootMs,
    exec,
    async run(argv, o) {
      const r = await exec(argv, o);
      if (r.exitCode !== 0) throw new VmExecError(r);
      return r;
    },
    sh: (script, o) => exec(['/bin/sh', '-c', script], o),
    async spawn(argv, o = {}) {
      const log = o.logPath ?? '/dev/null';
      const inner = buildScript(argv, o);
      const script = `setsid sh -c ${shQuote(inner)} > ${shQuote(log)} 2>&1 < /dev/null &\necho $!\n`;
      const r = await p.agent.exec(script, { where: o.where ?? 'chroot', timeoutMs: 30_000 });
      const pid = Number(r.stdout.toString().trim());
      if (r.exitCode !== 0 || !Number.isInteger(pid) || pid <= 0) throw new Error(`spawn ${argv.join(' ')}: ${r.stderr.toString().trim() || 'no pid'}`);
      return pid;
    },
    async readFile(path) {
      const r = await p.agent.readFile(inRoot(path));
      if (!r.ok) throw new VmFileError(path, 'read', errnoFromMessage(r.message), r.message);
      return r.data;
    },
    async writeFile(path, data) {
      const r = await p.agent.writeFile(inRoot(path), data);
      if (!r.ok) throw new VmFileError(path, 'write', errnoFromMessage(r.message), r.message);
    },
    console: () => {
      try {
        return readFileSync(p.consolePath, 'utf8');
      } catch {
        return '';
      }
    },
    channelPath(name) {
      if (!p.channels.includes(name)) throw new Error(`VM ${p.name} has no channel ${name} (channels: ${p.channels.join(', ') || 'none'})`);
      return join(p.runDir, `${name}.sock`);
    },
    stop: p.stop,
    close: () => p.agent.close(),
    [Symbol.asyncDispose]: p.stop,
  };
  return vm;
}

/** Reads a file's bytes from `offset` (console tails for progress). */
export function readFrom(path: string, offset: number): { text: string; size: number } {
  if (!existsSync(path)) return { text: '', size: 0 };
  const size = statSync(path).size;
  if (size <= offset) return { text: '', size };
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(size - offset);
    readSync(fd, b, 0, b.length, offset);
    return { text: b.toString('utf8'), size };
  } finally {
    closeSync(fd);
  }
}
