// What this machine offers. Tests use these to skip with a reason; `sriov-lab doctor` prints them.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface Capability {
  name: string;
  ok: boolean;
  detail: string;
  /** what is disabled when this capability is missing */
  disables: string;
}

function run(cmd: string, args: string[], timeoutMs = 5000): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

const memo = new Map<string, Capability>();
function cached(name: string, f: () => Omit<Capability, 'name'>): Capability {
  let c = memo.get(name);
  if (!c) {
    c = { name, ...f() };
    memo.set(name, c);
  }
  return c;
}

export const caps = {
  root: (): Capability =>
    cached('root', () => ({
      ok: isRoot(),
      detail: isRoot() ? 'running as root' : `running as uid ${process.getuid?.() ?? '?'}`,
      disables: 'network namespaces, FUSE mounts, simulated nodes (model-only mode remains)',
    })),
  fuse: (): Capability =>
    cached('fuse', () => {
      if (!existsSync('/dev/fuse')) return { ok: false, detail: '/dev/fuse is missing', disables: 'the FUSE sysfs' };
      try {
        accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
      } catch {
        return { ok: false, detail: '/dev/fuse is not accessible', disables: 'the FUSE sysfs' };
      }
      return { ok: isRoot(), detail: isRoot() ? '/dev/fuse, served by the TypeScript FUSE server (no native module)' : 'mounting needs root', disables: 'the FUSE sysfs' };
    }),
  iproute2: (): Capability =>
    cached('iproute2', () => {
      const r = run('ip', ['-V']);
      return { ok: r.ok, detail: r.ok ? r.out : 'ip (iproute2) not found', disables: 'network namespaces and netdevs' };
    }),
  netns: (): Capability =>
    cached('netns', () => {
      if (!isRoot()) return { ok: false, detail: 'needs root', disables: 'simulated nodes and pods' };
      const r = run('unshare', ['-n', '-m', '--propagation', 'private', 'true']);
      return { ok: r.ok, detail: r.ok ? 'unshare -n -m works' : r.out, disables: 'simulated nodes and pods' };
    }),
  cniPlugins: (): Capability =>
    cached('cniPlugins', () => {
      const ok = existsSync('/usr/lib/cni/host-device') && existsSync('/usr/lib/cni/host-local');
      return {
        ok,
        detail: ok ? '/usr/lib/cni (containernetworking-plugins)' : 'apt-get install containernetworking-plugins',
        disables: 'reference CNI plugins (host-device, host-local) and pod default networks',
      };
    }),
  qemu: (): Capability =>
    cached('qemu', () => {
      const r = run('qemu-system-x86_64', ['-device', 'help'], 10000);
      if (!r.ok) return { ok: false, detail: 'qemu-system-x86_64 not found', disables: 'the qemu backend' };
      const igb = /name "igb"/.test(r.out);
      return {
        ok: igb,
        detail: igb ? 'QEMU with the igb SR-IOV NIC' : 'QEMU lacks igb (needs >= 8.0; bookworm-backports)',
        disables: 'the qemu backend',
      };
    }),
  kvm: (): Capability =>
    cached('kvm', () => {
      const ok = existsSync('/dev/kvm');
      return { ok, detail: ok ? '/dev/kvm present (not probed)' : 'no /dev/kvm: TCG only', disables: 'fast VMs (TCG is used)' };
    }),
  chromium: (): Capability =>
    cached('chromium', () => {
      const path = chromiumPath();
      return {
        ok: path !== undefined,
        detail: path ?? `none of ${CHROMIUM_CANDIDATES.join(', ')} (Debian: apt-get install chromium; Ubuntu: Google Chrome, as GitHub's image has)`,
        disables: 'browser tests of the HTML report',
      };
    }),
};

/**
 * Where a Chromium or Chrome may be, in order: Debian's chromium, Google Chrome (GitHub's Ubuntu image has it and
 * points CHROME_BIN at it), Ubuntu's chromium-browser (a stub that starts the snap, skipped when it is one).
 */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/opt/google/chrome/chrome', '/usr/bin/chromium-browser'];

/** the stub Ubuntu installs for the chromium packages is a shell script that only knows the snap */
const STUB_CANDIDATES = new Set(['/usr/bin/chromium', '/usr/bin/chromium-browser']);

export interface FileLookup {
  hasFile(path: string): boolean;
  readFile(path: string): string | undefined;
}

/** the first browser of $CHROME_BIN and CHROMIUM_CANDIDATES that is there and is not Ubuntu's snap stub */
export function findChromium(fs: FileLookup, env: Record<string, string | undefined> = process.env): string | undefined {
  const candidates = [...(env.CHROME_BIN ? [env.CHROME_BIN] : []), ...CHROMIUM_CANDIDATES];
  return candidates.find((p) => fs.hasFile(p) && !(STUB_CANDIDATES.has(p) && /\bsnap\b/.test(fs.readFile(p)?.slice(0, 4096) ?? '')));
}

/** this machine's browser for the HTML report's browser tests, if any */
export function chromiumPath(): string | undefined {
  return findChromium({
    hasFile: existsSync,
    readFile: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
  });
}

export function allCaps(): Capability[] {
  return Object.values(caps).map((f) => f());
}
