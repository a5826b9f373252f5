// ADD, DEL, CHECK and GC for both modes. The sriov mode is host-device plus VF settings on the PF, so the two
// share one path: find the device, lock it, remember how it was, change it step by step with each step's undo
// pushed right after it, and cache what DEL needs to put everything back without the runtime's help.
import { accessSync, constants, existsSync } from 'node:fs';
import type { CniEnv, NetConf, VfSettings } from './config.ts';
import { Cache, type AttachmentState, type NetdevState } from './cache.ts';
import { CNI_CODES, CniError, CommandError, asCniError } from './errors.ts';
import { sessionFailure, type RunResult, type Runner } from './exec.ts';
import { execDelegate, findPlugin, delegateSupports } from './ipam.ts';
import { acquireLock } from './lock.ts';
import type { Logger } from './log.ts';
import { configureAddresses, moveIntoPod, moveIntoPodLine, netdevStateOf, netnsAlive, parseLinks, returnNetdev, setAddressOnce, type IpLinkJson } from './netdev.ts';
import { DPDK_DRIVERS, type Sysfs, type VfMode } from './sysfs.ts';
import { step, step as timingStep } from './timing.ts';
import type { CniResult } from './version.ts';
import { findVfInfo, restoreVfSettings, originalsFor, settingsToChange, vfMismatches, vfSetArgs, vfSettingsOf } from './vf.ts';

export interface Ctx {
  env: CniEnv;
  conf: NetConf;
  runner: Runner;
  sysfs: Sysfs;
  cache: Cache;
  log: Logger;
  /** test hook: steps after which ADD fails on purpose (SRIOV_LAB_CNI_FAIL_AT) */
  failAt: ReadonlySet<string>;
  lockTimeoutMs: number;
}

/** ADD's steps, in order; each can be named in SRIOV_LAB_CNI_FAIL_AT to fail right after its side effect. */
export const ADD_STEPS = ['lock', 'vf-config', 'netns-move', 'ipam', 'ip-config', 'cache'] as const;

function failpoint(ctx: Ctx, step: (typeof ADD_STEPS)[number]): void {
  if (ctx.failAt.has(step)) throw new CniError(CNI_CODES.injected, `injected failure after step "${step}"`, 'SRIOV_LAB_CNI_FAIL_AT is set');
}

interface Target {
  lockKey: string;
  pciAddr?: string;
  vfMode: VfMode;
  /** the netdev in this namespace (kernel mode) */
  hostName?: string;
  pf?: { netdev: string; pciAddr: string; vfIndex: number };
}

function resolveTarget(ctx: Ctx): Target {
  const { conf, sysfs } = ctx;
  if (conf.mode === 'sriov') {
    // the PF's netdev is looked up by name once `ip` has listed the links (addLocked)
    const info = sysfs.describe(conf.pciAddr!, { requireVf: true, pfNetdev: 'later' });
    const vfMode = sysfs.vfMode(info);
    return { lockKey: info.pciAddr, pciAddr: info.pciAddr, vfMode, hostName: info.netdevs[0], pf: { netdev: info.vf!.pfNetdev, pciAddr: info.vf!.pfPciAddr, vfIndex: info.vf!.index } };
  }
  if (conf.pciAddr) {
    const info = sysfs.describe(conf.pciAddr, { requireVf: false });
    if (info.netdevs.length) return { lockKey: info.pciAddr, pciAddr: info.pciAddr, vfMode: 'kernel', hostName: info.netdevs[0] };
    if (info.driver && (DPDK_DRIVERS as readonly string[]).includes(info.driver)) return { lockKey: info.pciAddr, pciAddr: info.pciAddr, vfMode: 'dpdk' };
    throw new CniError(CNI_CODES.failed, `device ${info.pciAddr} has no netdev in this network namespace`, `driver ${info.driver ?? 'none'}; is it already in a pod, or unbound?`);
  }
  let name: string | undefined;
  if (conf.device) {
    if (!sysfs.netdevNames().includes(conf.device)) throw new CniError(CNI_CODES.failed, `host device "${conf.device}" not found in this network namespace`, 'is it already in a pod? check "device"');
    name = conf.device;
  } else if (conf.hwaddr) {
    name = sysfs.netdevNames().find((n) => sysfs.netdevAttr(n, 'address')?.toLowerCase() === conf.hwaddr);
    if (!name) throw new CniError(CNI_CODES.failed, `no host device with MAC ${conf.hwaddr} in this network namespace`, 'check "hwaddr"');
  } else {
    throw new CniError(CNI_CODES.invalidConfig, 'no device selected', 'set "device", "hwaddr", "pciBusID" or "deviceID"');
  }
  const pciAddr = ctx.sysfs.pciOfNetdev(name);
  return { lockKey: pciAddr ?? `netdev-${name}`, pciAddr, vfMode: 'kernel', hostName: name };
}

function lockKeyOf(s: AttachmentState): string {
  return s.pciAddr ?? `netdev-${s.originalNetdev?.name ?? 'unknown'}`;
}

/** The VF settings the config asks for, with sriov-cni's defaults (VLAN 0 unless given, so a stale tag is cleared). */
function wantedVf(conf: NetConf): VfSettings {
  const w: VfSettings = { ...conf.vf };
  for (const k of Object.keys(w) as Array<keyof VfSettings>) if (w[k] === undefined) delete w[k];
  if (w.vlan !== undefined) {
    w.vlanQoS ??= 0;
    w.vlanProto ??= '802.1Q';
  }
  return w;
}

function ipamEnv(ctx: Ctx, s: { containerId: string; ifname: string; netns: string; cniArgs: string }): NodeJS.ProcessEnv {
  return { ...ctx.runner.env, CNI_CONTAINERID: s.containerId, CNI_IFNAME: s.ifname, CNI_NETNS: netnsAlive(s.netns) ? s.netns : '', CNI_ARGS: s.cniArgs };
}

function runUndo(ctx: Ctx, undo: Array<{ what: string; fn: () => void }>): void {
  for (const u of undo.reverse()) {
    try {
      u.fn();
      ctx.log.info(`rolled back: ${u.what}`);
    } catch (e) {
      // never hide the first error: log and go on with the rest
      ctx.log.error(`rollback of "${u.what}" failed: ${(e as Error).message}`);
    }
  }
}

export async function cmdAdd(ctx: Ctx): Promise<CniResult> {
  const { env, cache, log } = ctx;
  if (!netnsAlive(env.netns)) throw new CniError(CNI_CODES.unknownContainer, `CNI_NETNS ${env.netns} is not a network namespace`, 'the sandbox is gone or the path is wrong');
  step('js');
  let target = resolveTarget(ctx);
  step('sysfs');
  const lock = await acquireLock(target.lockKey, { timeoutMs: ctx.lockTimeoutMs });
  step('lock');
  try {
    failpoint(ctx, 'lock');
    let reResolve = false;
    const again = cache.read(env.containerId, env.ifname);
    if (again) {
      log.warn(`ADD for ${env.containerId}/${env.ifname} again without DEL: undoing the earlier attachment first`);
      teardown(ctx, again, { netns: again.netns, ipamConfig: again.config });
      reResolve = true;
    }
    const marker = cache.readMarker(target.lockKey);
    if (marker && !(marker.containerId === env.containerId && marker.ifname === env.ifname)) {
      if (netnsAlive(marker.netns)) {
        throw new CniError(
          CNI_CODES.vfBusy,
          `device ${target.lockKey} is already allocated to container ${marker.containerId} (interface ${marker.ifname}, netns ${marker.netns})`,
          'two pods got the same device: check the device plugin allocation; DEL that attachment first',
        );
      }
      const stale = cache.read(marker.containerId, marker.ifname);
      log.warn(`device ${target.lockKey} was held by ${marker.containerId}/${marker.ifname} whose netns ${marker.netns} is gone: releasing it`);
      if (stale) teardown(ctx, stale, { netns: stale.netns, ipamConfig: stale.config });
      else cache.removeMarker(target.lockKey, marker);
      reResolve = true;
    }
    if (reResolve) target = resolveTarget(ctx);
    return await addLocked(ctx, target);
  } finally {
    step('js');
    await lock.release();
    step('unlock');
  }
}

async function addLocked(ctx: Ctx, target: Target): Promise<CniResult> {
  const { env, conf, runner, cache } = ctx;
  const undo: Array<{ what: string; fn: () => void }> = [];
  const state: AttachmentState = {
    version: 1,
    containerId: env.containerId,
    ifname: env.ifname,
    netns: env.netns,
    network: conf.name,
    mode: conf.mode,
    vfMode: target.vfMode,
    pciAddr: target.pciAddr,
    pf: target.pf,
    cniArgs: env.argsRaw,
    config: conf.raw,
    createdAt: new Date().toISOString(),
  };
  try {
    let links: IpLinkJson[] = [];
    // sriov: one ip for the listing, the VF settings and the move (what to set depends on what it listed)
    const session = conf.mode === 'sriov' ? runner.ipSession() : undefined;
    let sessionEnded = false;
    try {
      if (session) {
        // one listing gives the PF's VF table and the VF netdev's name, MAC, MTU, altnames
        session.send(['link show']);
        try {
          links = parseLinks(await session.readLine());
        } catch (e) {
          if (!(e instanceof CommandError)) throw e;
          sessionEnded = true;
          const r = await session.end();
          throw new CommandError(['ip', '-j', 'link', 'show'], r.exitCode, sessionFailure(r)?.stderr ?? r.stderr, r.durationMs, r.stdout);
        }
      } else if (target.vfMode === 'kernel') {
        links = parseLinks(runner.ip(['-j', 'link', 'show', 'dev', target.hostName!]).stdout);
      }
      // the commands for the session after the listing, each with the error it would have raised on its own
      const commands: Array<{ line: string; error: (r: RunResult, stderr: string) => CommandError }> = [];
      if (target.pf) {
        if (!target.pf.netdev) {
          const withVfs = links.filter((l) => l.vfinfo_list !== undefined).map((l) => l.ifname);
          target.pf.netdev = ctx.sysfs.pfNetdev(target.pf.pciAddr, target.pciAddr!, withVfs);
        }
        const pf = target.pf;
        const pfLink = links.find((l) => l.ifname === pf.netdev);
        if (!pfLink) throw new CniError(CNI_CODES.failed, `PF netdev ${pf.netdev} not found in this network namespace`);
        const current = vfSettingsOf(findVfInfo(pfLink.vfinfo_list, pf.netdev, pf.vfIndex));
        const wanted = wantedVf(conf);
        const change = settingsToChange(wanted, current);
        state.appliedVf = wanted;
        state.originalVf = originalsFor(change, current);
        // the undo is registered first: a refused setting can leave the ones before it applied (the kernel applies
        // the attributes of one `vf N …` command in order and stops at the first error)
        const original = state.originalVf;
        undo.push({ what: `VF ${pf.vfIndex} settings on ${pf.netdev}`, fn: () => restoreVfSettings(runner, pf.netdev, pf.vfIndex, original) });
        if (Object.keys(change).length) {
          const args = ['link', 'set', 'dev', pf.netdev, ...vfSetArgs(pf.vfIndex, change)];
          commands.push({ line: args.join(' '), error: (r, stderr) => new CommandError(['ip', ...args], r.exitCode, stderr, r.durationMs) });
        }
      }
      // the move joins the session unless ADD is to fail between the two (SRIOV_LAB_CNI_FAIL_AT=vf-config)
      const link = target.vfMode === 'kernel' ? links.find((l) => l.ifname === target.hostName) : undefined;
      const moveLine = link ? moveIntoPodLine({ hostName: link.ifname, netns: env.netns, ifname: env.ifname, mtu: conf.mtu }) : undefined;
      const moveInSession = !!session && !!moveLine && !ctx.failAt.has('vf-config');
      if (moveInSession) {
        // as runner.ipBatch([moveLine]) reports it
        commands.push({ line: moveLine!, error: (r, stderr) => new CommandError(['ip', '-batch', '-'], r.exitCode, `${stderr}Command failed -:1\n`, r.durationMs) });
      }
      if (session) {
        session.send(commands.map((c) => c.line));
        sessionEnded = true;
        const r = await session.end();
        if (r.exitCode !== 0) {
          const f = sessionFailure(r);
          // the session's first command is the listing
          const c = f ? commands[f.index - 1] : undefined;
          throw c ? c.error(r, f!.stderr) : new CommandError(session.argv, r.exitCode, r.stderr, r.durationMs, r.stdout);
        }
      } else if (commands.length) {
        throw new CniError(CNI_CODES.failed, 'internal error', 'VF settings without an ip session');
      }
      failpoint(ctx, 'vf-config');

      if (target.vfMode === 'kernel') {
        if (!link) throw new CniError(CNI_CODES.failed, `netdev ${target.hostName} not found in this network namespace`);
        const original: NetdevState = netdevStateOf(link);
        state.originalNetdev = original;
        state.podMac = conf.mac ?? original.mac;
        state.podMtu = conf.mtu ?? original.mtu;
        if (moveInSession) {
          if (conf.mac) setAddressOnce(runner, env.ifname, conf.mac, env.netns);
        } else moveIntoPod(runner, { hostName: original.name, netns: env.netns, ifname: env.ifname, mac: conf.mac, mtu: conf.mtu });
        undo.push({ what: `netdev ${original.name} back from the pod`, fn: () => void returnNetdev(runner, ctx.sysfs, ctx.log, { pciAddr: target.pciAddr, original, ifname: env.ifname, netns: env.netns }) });
      }
    } finally {
      if (session && !sessionEnded) await session.end();
    }
    failpoint(ctx, 'netns-move');

    let ipam: CniResult = {};
    if (conf.ipam) {
      ipam = execDelegate(runner, { type: conf.ipam.type, command: 'ADD', config: conf.raw, cniVersion: conf.cniVersion, env: runner.env, cniPath: env.path }) ?? {};
      undo.push({ what: `IPAM ${conf.ipam.type} lease`, fn: () => void execDelegate(runner, { type: conf.ipam!.type, command: 'DEL', config: conf.raw, cniVersion: conf.cniVersion, env: runner.env, cniPath: env.path }) });
    }
    failpoint(ctx, 'ipam');

    const ips = (ipam.ips ?? []).map((ip) => ({ ...ip, interface: target.vfMode === 'kernel' ? 0 : undefined }));
    if (target.vfMode === 'kernel') configureAddresses(runner, env.netns, env.ifname, ips, ipam.routes ?? []);
    failpoint(ctx, 'ip-config');

    step('js');
    cache.write(state);
    cache.writeMarker(target.lockKey, { containerId: env.containerId, ifname: env.ifname, netns: env.netns });
    step('cache');
    undo.push({
      what: 'cache entry',
      fn: () => {
        cache.remove(env.containerId, env.ifname);
        cache.removeMarker(target.lockKey, env);
      },
    });
    failpoint(ctx, 'cache');

    const result: CniResult = {
      interfaces: [
        target.vfMode === 'kernel'
          ? { name: env.ifname, mac: state.podMac, mtu: state.podMtu, sandbox: env.netns, ...(target.pciAddr ? { pciID: target.pciAddr } : {}) }
          : // DPDK: no kernel interface in the pod, so no sandbox; named by its PCI address, never by CNI_IFNAME
            { name: target.pciAddr!, ...(conf.mac ? { mac: conf.mac } : {}), pciID: target.pciAddr! },
      ],
      ips: ips.map(({ interface: i, ...rest }) => (i === undefined ? rest : { ...rest, interface: i })),
    };
    if (ipam.routes?.length) result.routes = ipam.routes;
    if (ipam.dns) result.dns = ipam.dns;
    return result;
  } catch (e) {
    runUndo(ctx, undo);
    throw e;
  }
}

function isVfStillThere(ctx: Ctx, s: AttachmentState): string | undefined {
  if (!s.pf || !s.pciAddr) return undefined;
  // the PF still has this VF as virtfn<index> and the netdev ADD applied the settings through: two lookups,
  // where describe() lists the VF's and the PF's netdevs
  if (ctx.sysfs.virtfn(s.pf.pciAddr, s.pf.vfIndex) === s.pciAddr && ctx.sysfs.hasNetdev(s.pf.pciAddr, s.pf.netdev)) return s.pf.netdev;
  if (!ctx.sysfs.exists(s.pciAddr) || !ctx.sysfs.exists(s.pf.pciAddr)) return undefined;
  try {
    const info = ctx.sysfs.describe(s.pciAddr, { requireVf: true });
    if (info.vf?.pfPciAddr !== s.pf.pciAddr || info.vf.index !== s.pf.vfIndex) return undefined;
    return info.vf.pfNetdev;
  } catch {
    return undefined;
  }
}

/**
 * Undoes an attachment from its cache entry: VF settings, netdev, IPAM lease, cache. Every step is tried; devices
 * that no longer exist (a reboot reset sriov_numvfs, a destroyed netns took a virtual device with it) are skipped
 * with a warning, so DEL converges instead of failing forever. Real failures keep the cache for a retry.
 */
export function teardown(ctx: Ctx, s: AttachmentState, opts: { netns?: string; ipamConfig?: Record<string, unknown>; ipamEnv?: NodeJS.ProcessEnv }): void {
  const { runner, log, cache } = ctx;
  const errors: string[] = [];
  const step = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      const ce = asCniError(e);
      errors.push(`${what}: ${ce.message}`);
      log.error(`DEL ${s.containerId}/${s.ifname}: ${what}: ${ce.message}`);
    }
  };
  // sriov-cni #219: a late DEL (a retry, the sandbox GC) of a pod whose device has since gone to another pod must
  // not touch it: the device's marker names the attachment that holds it now, in a netns that is alive
  const holder = ctx.cache.readMarker(lockKeyOf(s));
  const takenOver = !!holder && !(holder.containerId === s.containerId && holder.ifname === s.ifname) && netnsAlive(holder.netns);
  if (takenOver) {
    log.warn(`DEL ${s.containerId}/${s.ifname}: ${lockKeyOf(s)} now belongs to ${holder.containerId}/${holder.ifname} (netns ${holder.netns}): leaving the device alone`);
  }
  if (!takenOver && s.pf && s.originalVf && Object.keys(s.originalVf).length) {
    step('restore VF settings', () => {
      timingStep('js');
      const pfNetdev = isVfStillThere(ctx, s);
      timingStep('sysfs');
      if (!pfNetdev) {
        log.warn(`VF ${s.pciAddr} (VF ${s.pf!.vfIndex} of ${s.pf!.pciAddr}) no longer exists (sriov_numvfs changed or the node rebooted): nothing to restore`);
        return;
      }
      restoreVfSettings(runner, pfNetdev, s.pf!.vfIndex, s.originalVf!);
    });
  }
  if (!takenOver && s.vfMode === 'kernel' && s.originalNetdev) {
    step('return the netdev', () => {
      const netns = [opts.netns, s.netns].find((p) => netnsAlive(p));
      returnNetdev(runner, ctx.sysfs, log, { pciAddr: s.pciAddr, original: s.originalNetdev!, ifname: s.ifname, netns });
    });
  }
  const ipamConf = opts.ipamConfig?.ipam as { type?: string } | undefined;
  if (ipamConf?.type) {
    step(`release the IPAM lease (${ipamConf.type})`, () => {
      const env = opts.ipamEnv ?? ipamEnv(ctx, s);
      const version = String(opts.ipamConfig!.cniVersion ?? s.config.cniVersion) as NetConf['cniVersion'];
      execDelegate(runner, { type: ipamConf.type!, command: 'DEL', config: opts.ipamConfig!, cniVersion: version, env, cniPath: ctx.env.path });
    });
  }
  if (errors.length) {
    throw new CniError(CNI_CODES.failed, `DEL of ${s.containerId}/${s.ifname} is incomplete; the cache entry is kept so DEL can be retried`, errors.join('; '));
  }
  cache.remove(s.containerId, s.ifname);
  cache.removeMarker(lockKeyOf(s), s);
}

export async function cmdDel(ctx: Ctx): Promise<void> {
  const { env, conf, cache, log, runner } = ctx;
  step('js');
  const s = cache.read(env.containerId, env.ifname);
  if (!s) {
    // nothing of ours to undo (never added, already deleted, or ADD rolled back); the IPAM lease is released
    // anyway, as a runtime may call DEL after an ADD that died half-way
    log.info(`DEL ${env.containerId}/${env.ifname}: no cache entry, nothing to restore`);
    if (conf.ipam && findPlugin(conf.ipam.type, env.path)) {
      try {
        execDelegate(runner, { type: conf.ipam.type, command: 'DEL', config: conf.raw, cniVersion: conf.cniVersion, env: runner.env, cniPath: env.path });
      } catch (e) {
        log.warn(`IPAM DEL without a cache entry: ${(e as Error).message}`);
      }
    }
    return;
  }
  step('cache');
  const lock = await acquireLock(lockKeyOf(s), { timeoutMs: ctx.lockTimeoutMs });
  step('lock');
  try {
    teardown(ctx, s, { netns: env.netns || undefined, ipamConfig: conf.ipam ? conf.raw : s.config, ipamEnv: conf.ipam ? runner.env : undefined });
  } finally {
    step('js');
    await lock.release();
    step('unlock');
  }
}

export async function cmdCheck(ctx: Ctx): Promise<void> {
  const { env, conf, runner, cache, sysfs } = ctx;
  const s = cache.read(env.containerId, env.ifname);
  if (!s) throw new CniError(CNI_CODES.unknownContainer, `no attachment ${env.containerId}/${env.ifname} in ${cache.dir}`, 'ADD did not run or DEL already ran');
  if (!conf.prevResult) throw new CniError(CNI_CODES.invalidConfig, 'CHECK needs "prevResult" in the network configuration', 'the runtime passes the result of ADD');
  const problems: string[] = [];
  const prevIf = conf.prevResult.interfaces?.findIndex((i) => (s.vfMode === 'kernel' ? i.name === env.ifname && i.sandbox : i.pciID === s.pciAddr || i.name === s.pciAddr));
  if (prevIf === undefined || prevIf < 0) problems.push(`prevResult lists no interface ${s.vfMode === 'kernel' ? env.ifname : s.pciAddr}`);

  if (s.pf && s.appliedVf) {
    const pfNetdev = isVfStillThere(ctx, s);
    if (!pfNetdev) problems.push(`VF ${s.pciAddr} no longer exists`);
    else {
      const pfLink = parseLinks(runner.ip(['-j', 'link', 'show', 'dev', pfNetdev]).stdout)[0];
      const current = vfSettingsOf(findVfInfo(pfLink?.vfinfo_list, pfNetdev, s.pf.vfIndex));
      for (const m of vfMismatches(s.appliedVf, current)) problems.push(`VF ${s.pf.vfIndex} on ${pfNetdev}: ${m}`);
    }
  }
  if (s.vfMode === 'dpdk') {
    const drv = s.pciAddr ? sysfs.driver(s.pciAddr) : undefined;
    if (!drv || !(DPDK_DRIVERS as readonly string[]).includes(drv)) problems.push(`${s.pciAddr} is no longer bound to a DPDK driver (driver: ${drv ?? 'none'})`);
  } else {
    if (!netnsAlive(env.netns)) problems.push(`netns ${env.netns} is gone`);
    else {
      const links = parseLinks(runner.ip(['-j', 'address', 'show'], { netns: env.netns }).stdout);
      const l = links.find((x) => x.ifname === env.ifname);
      if (!l) problems.push(`interface ${env.ifname} is missing from ${env.netns}`);
      else {
        const mac = (l.address ?? '').toLowerCase();
        if (s.podMac && mac !== s.podMac) problems.push(`${env.ifname} MAC is ${mac}, want ${s.podMac}`);
        const prevMac = prevIf !== undefined && prevIf >= 0 ? conf.prevResult.interfaces![prevIf].mac : undefined;
        if (prevMac && prevMac.toLowerCase() !== mac) problems.push(`${env.ifname} MAC is ${mac}, prevResult says ${prevMac}`);
        if (s.podMtu && l.mtu !== s.podMtu) problems.push(`${env.ifname} MTU is ${l.mtu}, want ${s.podMtu}`);
        if (!l.flags.includes('UP')) problems.push(`${env.ifname} is down`);
        const have = new Set((l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
        for (const ip of conf.prevResult.ips ?? []) {
          if (ip.interface !== undefined && ip.interface !== prevIf) continue;
          if (!have.has(ip.address)) problems.push(`${env.ifname} lacks address ${ip.address}`);
        }
      }
      if (s.pciAddr && sysfs.netdevs(s.pciAddr).length) problems.push(`${s.pciAddr} has a netdev back in the host namespace (${sysfs.netdevs(s.pciAddr).join(', ')})`);
    }
  }
  if (problems.length) throw new CniError(CNI_CODES.checkFailed, `CHECK of ${env.containerId}/${env.ifname} failed`, problems.join('; '));
  if (conf.ipam) execDelegate(runner, { type: conf.ipam.type, command: 'CHECK', config: conf.raw, cniVersion: conf.cniVersion, env: runner.env, cniPath: env.path });
}

export async function cmdGc(ctx: Ctx): Promise<void> {
  const { conf, cache, log, runner, env } = ctx;
  const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
  const errors: string[] = [];
  for (const s of cache.list()) {
    if (s.network !== conf.name || valid.has(`${s.containerId}\0${s.ifname}`)) continue;
    log.info(`GC: releasing ${s.containerId}/${s.ifname} (${s.pciAddr ?? s.originalNetdev?.name})`);
    const lock = await acquireLock(lockKeyOf(s), { timeoutMs: ctx.lockTimeoutMs });
    try {
      teardown(ctx, s, { netns: s.netns, ipamConfig: s.config });
    } catch (e) {
      errors.push((e as Error).message);
    } finally {
      await lock.release();
    }
  }
  if (conf.ipam && delegateSupports(runner, conf.ipam.type, env.path, '1.1.0', runner.env)) {
    execDelegate(runner, { type: conf.ipam.type, command: 'GC', config: conf.raw, cniVersion: conf.cniVersion, env: runner.env, cniPath: env.path });
  }
  if (errors.length) throw new CniError(CNI_CODES.failed, 'GC could not release every stale attachment', errors.join('; '));
}

export async function cmdStatus(ctx: Ctx): Promise<void> {
  const { conf, env, runner, cache } = ctx;
  const pathDirs = (runner.env.PATH ?? '').split(':').filter(Boolean);
  for (const tool of ['ip', 'nsenter']) {
    if (!pathDirs.some((d) => existsSync(`${d}/${tool}`))) throw new CniError(CNI_CODES.notAvailable, `"${tool}" is not in PATH`, `install ${tool === 'ip' ? 'iproute2' : 'util-linux'}`);
  }
  if (conf.ipam) {
    if (!findPlugin(conf.ipam.type, env.path)) throw new CniError(CNI_CODES.notAvailable, `IPAM plugin "${conf.ipam.type}" not found`, `looked in CNI_PATH ${env.path.join(':') || '(empty)'}`);
    if (delegateSupports(runner, conf.ipam.type, env.path, '1.1.0', runner.env)) {
      execDelegate(runner, { type: conf.ipam.type, command: 'STATUS', config: conf.raw, cniVersion: conf.cniVersion, env: runner.env, cniPath: env.path });
    }
  }
  if (existsSync(cache.dir)) {
    try {
      accessSync(cache.dir, constants.W_OK);
    } catch {
      throw new CniError(CNI_CODES.notAvailable, `cache directory ${cache.dir} is not writable`);
    }
  }
}
