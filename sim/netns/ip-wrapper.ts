#!/usr/bin/env node
// `ip` inside a simulated node. This kernel has no SR-IOV, so VF netlink is answered from the kernel model over
// the control socket: `ip link set PF vf N …` changes the model, `ip link show` / `ip -d addr show` list the VFs.
// Every other invocation runs the real iproute2 with the same argv, stdio and exit status.
// Started once per `ip` call: keep the import graph small (no yaml, no grpc, nothing from harness/).
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ControlClient, ControlError } from '../kernel/control-client.ts';
import type { ErrnoName, PfSummary, VfAttrs } from '../kernel/types.ts';
import { classifyIpArgv, type IpGlobalOptions } from './ip-argv.ts';
import { addVfsToJson, addVfsToText, type PfVfInfo } from './ip-show.ts';
import { IpCliError, parseLinkSetVf, vfOpToPatch, type VfSetCommand } from './vf-netlink.ts';

// Linux strerror() texts, as `RTNETLINK answers: …` prints them
const STRERROR: Partial<Record<ErrnoName | 'EPROTONOSUPPORT' | 'ELOOP', string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  ENODEV: 'No such device',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EOPNOTSUPP: 'Operation not supported',
  EPROTONOSUPPORT: 'Protocol not supported',
  ELOOP: 'Too many levels of symbolic links',
};

const realIp = process.env.SRIOV_LAB_REAL_IP || '/run/sriov-lab/ip.real';
const ctlPath = process.env.SRIOV_LAB_CTL || '/run/sriov-lab/ctl.sock';

/**
 * How one command ended: thrown by every path of run(), caught by main() (which ends the process the same way) or
 * by a batch (which goes on to its next line or stops).
 */
class Exit {
  constructor(
    readonly code: number,
    readonly signal: NodeJS.Signals | null = null,
  ) {}
}

/** Runs the real ip with our stdio and ends this command the way it ended. */
function execReal(argv: readonly string[]): never {
  const r = spawnSync(realIp, argv, { stdio: 'inherit' });
  exitLike(r.status, r.signal, r.error);
}

function exitLike(status: number | null, signal: NodeJS.Signals | null, error?: Error): never {
  if (error) {
    process.stderr.write(`ip (sriov-lab wrapper): cannot run ${realIp}: ${error.message}\n`);
    throw new Exit(127);
  }
  throw new Exit(status ?? 1, signal);
}

function warn(msg: string): void {
  process.stderr.write(`ip (sriov-lab wrapper): ${msg}\n`);
}

function rtnetlinkError(errno: string): never {
  process.stderr.write(`RTNETLINK answers: ${STRERROR[errno as ErrnoName] ?? errno}\n`);
  throw new Exit(2);
}

/**
 * A simulated node's PFs and VFs are veths whose peers sit in the node's fabric netns, so the real ip names that
 * netns for them (`link-netns …`, text output only) and for that asks the kernel for the id of every entry of
 * /run/netns (iproute2's netns_map_init). An entry being added or deleted at that moment (a pod's netns: the file
 * exists before its bind mount and after its unmount) is not a namespace, and the kernel's answer is printed as
 * `Error: Peer netns reference is invalid.`, exit status still 0. A real PF has no peer and ip never looks: the
 * line is the simulation's, so it is dropped here. Any other stderr passes through.
 */
function dropPeerNetnsNoise(stderr: string): string {
  return stderr.split(/(?<=\n)/).filter((l) => l.trimEnd() !== 'Error: Peer netns reference is invalid.').join('');
}

async function show(argv: readonly string[], o: IpGlobalOptions): Promise<never> {
  const r = spawnSync(realIp, argv, { stdio: ['inherit', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  if (r.stderr?.length) process.stderr.write(dropPeerNetnsNoise(r.stderr.toString('utf8')));
  if (r.error || r.status !== 0 || !r.stdout || r.stdout.length === 0) {
    if (r.stdout) process.stdout.write(r.stdout);
    exitLike(r.status, r.signal, r.error);
  }
  let out = r.stdout.toString('utf8');
  const client = new ControlClient(ctlPath);
  try {
    const { pfs = [] } = await client.request({ op: 'pf.list' });
    const shown = new Map<string, PfVfInfo>();
    for (const pf of pfs) {
      // cheap pre-filter: the PF must be in this output at all
      if (!pf.ifname || pf.totalVfs === 0 || !out.includes(pf.ifname)) continue;
      const { vfs = [] } = pf.numVfs > 0 ? await client.request({ op: 'vf.list', pf: pf.ifname }) : {};
      shown.set(pf.ifname, { vfs, render: { stats: o.stats > 0 } });
    }
    out = o.json ? addVfsToJson(out, shown, o.pretty) : addVfsToText(out, shown, o.oneline);
  } catch (e) {
    warn(`VF info unavailable (control socket ${ctlPath}: ${(e as Error).message})`);
  } finally {
    client.close();
  }
  await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
  exitLike(r.status, r.signal);
}

async function vfSet(argv: readonly string[], globalArgs: string[], setArgs: string[]): Promise<never> {
  // the device first, with rates that can never fail the min <= max check; parse errors are the same from the
  // real ip, which also knows the device's address length, so any of them goes there
  const first = parseLinkSetVf(setArgs, { currentRates: () => ({ minTxRate: 0, maxTxRate: 0 }) });
  if (first === null || first instanceof IpCliError) execReal(argv);
  const dev = first.dev;
  const client = new ControlClient(ctlPath);
  let pfs: PfSummary[];
  try {
    pfs = (await client.request({ op: 'pf.list' })).pfs ?? [];
  } catch (e) {
    warn(`control socket ${ctlPath} unavailable (${(e as Error).message}); VF attributes are not simulated`);
    client.close();
    execReal(argv);
  }
  if (!pfs.some((p) => p.ifname === dev)) {
    client.close();
    execReal(argv);
  }
  let cmd: VfSetCommand = first;
  let needRates = false;
  parseLinkSetVf(setArgs, { currentRates: () => ((needRates = true), undefined) });
  if (needRates) {
    // iproute2 fetches the VF's current rates when only one of min/max is given
    let current: Array<VfAttrs & { index: number }> = [];
    try {
      current = (await client.request({ op: 'vf.list', pf: dev })).vfs ?? [];
    } catch (e) {
      if (!(e instanceof ControlError)) throw e;
    }
    const again = parseLinkSetVf(setArgs, {
      currentRates: (vf) => current.find((v) => v.index === vf),
    });
    if (again instanceof IpCliError) {
      client.close();
      process.stderr.write(again.stderr);
      throw new Exit(again.exitCode);
    }
    cmd = again as VfSetCommand;
  }
  if (cmd.rest.length > 0) {
    // the kernel applies the other link attributes (mtu, up, …) before the VF list
    const r = spawnSync(realIp, [...globalArgs, 'link', 'set', 'dev', dev, ...cmd.rest], { stdio: 'inherit' });
    if (r.error || r.status !== 0 || r.signal) {
      client.close();
      exitLike(r.status, r.signal, r.error);
    }
  }
  try {
    for (const { vf, ops } of cmd.vfs) {
      // a negative index reaches the kernel as a huge u32, which it rejects
      if (vf < 0) rtnetlinkError('EINVAL');
      for (const op of ops) {
        const attrs = vfOpToPatch(op);
        if (!attrs) rtnetlinkError('EOPNOTSUPP');
        try {
          await client.request({ op: 'vf.set', pf: dev, vf, attrs });
        } catch (e) {
          if (e instanceof ControlError) rtnetlinkError(e.errno);
          throw e;
        }
      }
    }
  } finally {
    client.close();
  }
  throw new Exit(0);
}

/** One ip command: always ends by throwing its Exit. */
async function run(argv: readonly string[]): Promise<never> {
  const inv = classifyIpArgv(argv);
  switch (inv.kind) {
    case 'vf-set':
      return vfSet(argv, inv.globalArgs, inv.setArgs);
    case 'link-show':
    case 'addr-show': {
      const o = inv.options;
      // iproute2 prints VFs for `link show` and, with -d, for `addr show`; never in brief mode
      if (o.brief || (inv.kind === 'addr-show' && !o.details)) execReal(argv);
      return show(argv, o);
    }
    case 'other':
      execReal(argv);
  }
}

/** `-batch FILE` (and -force) among the global options, as ip.c reads them; the other global options. */
function batchOf(argv: readonly string[]): { file: string; force: boolean; globalArgs: string[] } | undefined {
  const globalArgs: string[] = [];
  let file: string | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '--') return file === undefined ? undefined : { file, force, globalArgs: [...globalArgs, ...argv.slice(i)] };
    const o = a.startsWith('--') ? a.slice(1) : a;
    // "-b" is -batch, "-br" -brief; "-f" is -family, "-fo" -force
    if (o.length >= 2 && '-batch'.startsWith(o)) {
      if (i + 1 >= argv.length) return undefined;
      file = argv[++i];
    } else if (o.length >= 3 && '-force'.startsWith(o)) force = true;
    else {
      globalArgs.push(a);
      // options that take a value (ip.c): -loops, -family, -rcvbuf, -netns
      if (/^-(l|lo|loo|loop|loops|f|fa|fam|fami|famil|family|rc|rcv|rcvb|rcvbu|rcvbuf|n|ne|net|netn|netns)$/.test(o) && i + 1 < argv.length) globalArgs.push(argv[++i]);
    }
  }
  return file === undefined ? undefined : { file, force, globalArgs };
}

/** A batch line split as iproute2's makeargs does: blanks separate words, double quotes group, # starts a comment. */
function splitBatchLine(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(#.*$)|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[2] !== undefined) break;
    words.push(m[1] ?? m[3]);
  }
  return words;
}

/**
 * `ip [OPTIONS] -batch FILE|-`: each line is run as `ip OPTIONS LINE` as it arrives (a caller may read one
 * command's output before it writes the next), VF commands and listings simulated like single commands; a failing
 * line is reported as iproute2 reports it ("Command failed FILE:N") and stops the batch unless -force.
 */
async function batch(b: { file: string; force: boolean; globalArgs: string[] }): Promise<never> {
  const first = process.env.SRIOV_LAB_IP_BATCH_FIRST;
  delete process.env.SRIOV_LAB_IP_BATCH_FIRST;
  const rl = createInterface({ input: b.file === '-' ? process.stdin : createReadStream(b.file), crlfDelay: Infinity });
  // the iterator buffers lines from its creation on: made now, no line read while the first one runs is lost
  const rest = rl[Symbol.asyncIterator]();
  let failed = false;
  let n = 0;
  const lines = async function* (): AsyncGenerator<string> {
    if (first !== undefined) yield first;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  };
  for await (const line of lines()) {
    n++;
    const words = splitBatchLine(line);
    if (words.length === 0) continue;
    let code = 0;
    try {
      await run([...b.globalArgs, ...words]);
    } catch (e) {
      if (!(e instanceof Exit)) throw e;
      code = e.signal ? 1 : e.code;
    }
    if (code !== 0) {
      process.stderr.write(`Command failed ${b.file}:${n}\n`);
      failed = true;
      if (!b.force) break;
    }
  }
  rl.close();
  throw new Exit(failed ? 1 : 0);
}

async function main(argv: readonly string[]): Promise<never> {
  const b = batchOf(argv);
  return b ? batch(b) : run(argv);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof Exit) {
    if (e.signal) process.kill(process.pid, e.signal);
    process.exit(e.code);
  }
  warn(`internal error: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
