// KVM or TCG. KVM is used only when a bounded probe showed that it boots our guest kernel to its set-up: on nested
// machines /dev/kvm can exist while QEMU aborts or hangs silently. The answer is cached per QEMU version and host
// kernel, so the probe (at most `probeTimeoutMs`) runs once per machine.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir, type GuestArtefacts } from './artefacts.ts';
import { BOOT_MARKER } from './guest-files.ts';

export type Accel = 'kvm' | 'tcg';

export interface AccelProbe {
  accel: Accel;
  reason: string;
  qemuVersion: string;
  hostKernel: string;
  probedAt: string;
}

export function qemuVersion(binary = process.env.SRIOV_LAB_QEMU || 'qemu-system-x86_64'): string {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /version (\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

/** Boots the guest with accel=kvm and the probe flag (it prints the boot marker and powers off). */
export async function probeKvm(artefacts: GuestArtefacts, timeoutMs = 20_000): Promise<{ ok: boolean; reason: string }> {
  if (!existsSync('/dev/kvm')) return { ok: false, reason: 'no /dev/kvm' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { ok: false, reason: '/dev/kvm is not accessible to this user' };
  }
  const { qemuArgs } = await import('./vm.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sl-kvm-probe-'));
  try {
    const args = qemuArgs({ name: 'kvm-probe', accel: 'kvm', cpus: 1, memoryMiB: 512, vmlinux: artefacts.vmlinux, initramfs: artefacts.initramfs, runDir: dir, nics: [], shares: [], channels: [] }, { probe: true });
    const t0 = Date.now();
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.env.SRIOV_LAB_QEMU || 'qemu-system-x86_64', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const result = await new Promise<{ ok: boolean; reason: string }>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ ok: false, reason: `KVM guest did not boot within ${timeoutMs}ms (nested virtualisation?)` });
      }, timeoutMs);
      child.on('exit', (code, sig) => {
        clearTimeout(timer);
        let con = '';
        try {
          con = readFileSync(join(dir, 'console.log'), 'utf8');
        } catch {
          /* none */
        }
        if (con.includes(`${BOOT_MARKER} probe`)) resolve({ ok: true, reason: `KVM guest booted in ${Date.now() - t0}ms` });
        else resolve({ ok: false, reason: `QEMU with KVM exited (${sig ?? code}) before the guest booted: ${stderr.trim().split('\n').slice(-2).join(' ') || 'no message'}` });
      });
    });
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((r) => child.once('exit', r));
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TCG or KVM for this machine: $SRIOV_LAB_ACCEL wins, then the cached probe, then a fresh probe. */
export async function chooseAccel(opts: { artefacts: GuestArtefacts; cacheDir?: string; onProgress?: (l: string) => void; reprobe?: boolean }): Promise<Accel> {
  const forced = process.env.SRIOV_LAB_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const file = join(opts.cacheDir ?? defaultCacheDir(), 'accel.json');
  const qv = qemuVersion();
  const hk = release();
  if (!opts.reprobe && existsSync(file)) {
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as AccelProbe;
      if (c.qemuVersion === qv && c.hostKernel === hk) return c.accel;
    } catch {
      /* re-probe */
    }
  }
  opts.onProgress?.('probing KVM (bounded; the answer is cached)');
  const r = await probeKvm(opts.artefacts);
  const probe: AccelProbe = { accel: r.ok ? 'kvm' : 'tcg', reason: r.reason, qemuVersion: qv, hostKernel: hk, probedAt: new Date().toISOString() };
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(probe, null, 2)}\n`);
  opts.onProgress?.(`${probe.accel}: ${probe.reason}`);
  return probe.accel;
}

export function cachedAccelProbe(cacheDir = defaultCacheDir()): AccelProbe | undefined {
  try {
    return JSON.parse(readFileSync(join(cacheDir, 'accel.json'), 'utf8')) as AccelProbe;
  } catch {
    return undefined;
  }
}
