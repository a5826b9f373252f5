// Library functions behind `sriov-lab vm build|up|exec|down|list`. An interactive VM runs detached from the CLI, with
// its state in a run dir (<runRoot>/<name>: vm.json, qemu.pid, console.log, agent.sock); `vm exec` and `vm down`
// attach to it by name.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadTopology, defaultTopology, type NodeSpec } from '../../sim/topology/topology.ts';
import { parse, UsageError } from '../cli/args.ts';
import { AgentClient } from './agent-client.ts';
import { buildGuestArtefacts, type GuestArtefacts } from './artefacts.ts';
import type { Accel } from './accel.ts';
import { makeHandle, startVm, type GuestNic, type Vm, type VmNicInput } from './vm.ts';

export function vmRunRoot(): string {
  if (process.env.SRIOV_LAB_RUN_DIR) return process.env.SRIOV_LAB_RUN_DIR;
  if (process.getuid?.() === 0) return '/run/sriov-lab/vm';
  return join(process.env.XDG_RUNTIME_DIR || join(tmpdir(), `sriov-lab-${process.getuid?.() ?? 'user'}`), 'sriov-lab', 'vm');
}

interface VmState {
  name: string;
  pid: number;
  accel: Accel;
  runDir: string;
  nics: GuestNic[];
  artefacts: GuestArtefacts;
  projectDir: string;
  startedAt: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(name: string): VmState {
  const file = join(vmRunRoot(), name, 'vm.json');
  if (!existsSync(file)) throw new UsageError(`no VM named ${name} (sriov-lab vm list; start one with sriov-lab vm up ${name})`);
  return JSON.parse(readFileSync(file, 'utf8')) as VmState;
}

/** The VMs in the run root, with whether their QEMU still runs. */
export function listVms(): Array<VmState & { running: boolean }> {
  const root = vmRunRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => existsSync(join(root, d, 'vm.json')))
    .map((d) => {
      const s = JSON.parse(readFileSync(join(root, d, 'vm.json'), 'utf8')) as VmState;
      return { ...s, running: isAlive(s.pid) };
    });
}

/** Connects to a running VM's agent. `stop()` on the handle kills that VM; `close()` only disconnects. */
export async function attachVm(name: string, opts: { timeoutMs?: number } = {}): Promise<Vm> {
  const s = readState(name);
  if (!isAlive(s.pid)) throw new UsageError(`VM ${name} is not running (QEMU pid ${s.pid} is gone); clean up with sriov-lab vm down ${name}`);
  const agent = new AgentClient(join(s.runDir, 'agent.sock'), join(s.runDir, 'xfer'));
  await agent.connect({ timeoutMs: opts.timeoutMs ?? 10_000, isDead: () => (isAlive(s.pid) ? undefined : `VM ${name} stopped`) });
  const stop = async (): Promise<void> => {
    agent.close();
    await killPid(s.pid);
    rmSync(s.runDir, { recursive: true, force: true });
  };
  return makeHandle({ name, runDir: s.runDir, pid: s.pid, accel: s.accel, consolePath: join(s.runDir, 'console.log'), artefacts: s.artefacts, nics: s.nics, bootMs: 0, agent, stop, channels: [] });
}

async function killPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

const out = (s: string): boolean => process.stdout.write(s);
const progress = (quiet: boolean | undefined) => (quiet ? () => undefined : (l: string) => void process.stderr.write(`[sriov-lab] ${l}\n`));

/** sriov-lab vm build [--force] [--kernel PKG] [--quiet] */
export async function vmBuild(args: string[]): Promise<number> {
  const { values } = parse(args, { force: { type: 'boolean' }, kernel: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } });
  const a = await buildGuestArtefacts({ force: values.force, kernelPackage: values.kernel, onProgress: progress(values.quiet) });
  out(`${a.dir}\n  kernel ${a.kernelRelease} (${a.packages.map((p) => `${p.name} ${p.version}`).join(', ')})\n  ${a.cached ? 'cached' : `built in ${(a.buildMs / 1000).toFixed(1)} s`}\n`);
  return 0;
}

function nicsFromFlags(igb: number, virtio: number, name: string): VmNicInput[] {
  const nics: VmNicInput[] = [];
  const h = [...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) & 0xff, 7);
  for (let i = 0; i < igb; i++) nics.push({ kind: 'igb', mac: `02:5a:${h.toString(16).padStart(2, '0')}:01:00:${i.toString(16).padStart(2, '0')}`, model: 'intel-82576' });
  for (let i = 0; i < virtio; i++) nics.push({ kind: 'virtio-net', mac: `02:5a:${h.toString(16).padStart(2, '0')}:02:00:${i.toString(16).padStart(2, '0')}`, model: 'virtio-net' });
  return nics;
}

/** sriov-lab vm up NAME [--topology FILE --node NODE | --igb N --virtio N] [--memory MiB] [--cpus N] [--accel tcg|kvm] */
export async function vmUp(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    topology: { type: 'string', short: 't' },
    node: { type: 'string' },
    igb: { type: 'string' },
    virtio: { type: 'string' },
    memory: { type: 'string' },
    cpus: { type: 'string' },
    accel: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const name = positionals[0] ?? values.node ?? 'vm1';
  const dir = join(vmRunRoot(), name);
  if (existsSync(join(dir, 'vm.json'))) {
    const s = readState(name);
    if (isAlive(s.pid)) throw new UsageError(`VM ${name} already runs (pid ${s.pid}); sriov-lab vm down ${name} first`);
    rmSync(dir, { recursive: true, force: true });
  }
  let node: NodeSpec | undefined;
  if (values.topology || values.node) {
    const topo = values.topology ? loadTopology(resolve(values.topology)) : defaultTopology();
    node = values.node ? topo.nodes.find((n) => n.name === values.node) : topo.nodes[0];
    if (!node) throw new UsageError(`no node ${values.node} in the topology (nodes: ${topo.nodes.map((n) => n.name).join(', ')})`);
  }
  const accel = values.accel as Accel | undefined;
  if (accel && accel !== 'tcg' && accel !== 'kvm') throw new UsageError('--accel is tcg or kvm');
  const nics = node ? undefined : nicsFromFlags(Number(values.igb ?? 1), Number(values.virtio ?? 0), name);
  mkdirSync(dir, { recursive: true });
  const vm = await startVm({
    name,
    node,
    nics,
    runDir: dir,
    detached: true,
    accel: accel ?? 'auto',
    memoryMiB: values.memory ? Number(values.memory) : undefined,
    cpus: values.cpus ? Number(values.cpus) : undefined,
    onProgress: progress(values.quiet),
  });
  vm.close();
  out(`VM ${name} running (pid ${vm.pid}, ${vm.accel}, booted in ${(vm.bootMs / 1000).toFixed(1)} s)\n`);
  for (const n of vm.nics) out(`  ${n.pciAddr}  ${n.kind.padEnd(10)} ${n.driver.padEnd(10)} ${n.ifname.padEnd(6)} ${n.mac}${n.topologyPciAddr ? `  (topology ${n.topologyPciAddr} ${n.topologyIfname})` : ''}\n`);
  out(`  console: ${vm.consolePath}\n  sriov-lab vm exec ${name} -- CMD…    sriov-lab vm down ${name}\n`);
  return 0;
}

/** sriov-lab vm exec NAME [--guest] [--cwd DIR] [--timeout MS] [-n] -- CMD… (stdin is passed unless a terminal or -n) */
export async function vmExec(args: string[]): Promise<number> {
  const { values, positionals, command } = parse(args, { guest: { type: 'boolean' }, timeout: { type: 'string' }, cwd: { type: 'string' }, 'no-stdin': { type: 'boolean', short: 'n' } });
  const name = positionals[0];
  if (!name || command.length === 0) throw new UsageError('usage: sriov-lab vm exec NAME [--guest] [--cwd DIR] [--timeout MS] [-n|--no-stdin] -- CMD…');
  let input: Buffer | undefined;
  if (!process.stdin.isTTY && !values['no-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    input = Buffer.concat(chunks);
  }
  const vm = await attachVm(name);
  try {
    const r = await vm.exec(command, { where: values.guest ? 'guest' : 'chroot', input, cwd: values.cwd, timeoutMs: values.timeout ? Number(values.timeout) : undefined });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.exitCode;
  } finally {
    vm.close();
  }
}

/** sriov-lab vm down NAME|--all */
export async function vmDown(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { all: { type: 'boolean' } });
  const names = values.all ? listVms().map((v) => v.name) : positionals;
  if (names.length === 0) throw new UsageError('usage: sriov-lab vm down NAME… | --all');
  for (const name of names) {
    const s = readState(name);
    await killPid(s.pid);
    rmSync(s.runDir, { recursive: true, force: true });
    out(`VM ${name} stopped\n`);
  }
  return 0;
}

/** sriov-lab vm list */
export async function vmList(): Promise<number> {
  const vms = listVms();
  if (vms.length === 0) out('no VMs\n');
  for (const v of vms) out(`${v.name}\t${v.running ? 'running' : 'dead'}\tpid ${v.pid}\t${v.accel}\t${v.nics.map((n) => `${n.pciAddr}=${n.ifname}`).join(',')}\t${v.runDir}\n`);
  return 0;
}
