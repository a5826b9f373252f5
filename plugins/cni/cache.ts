// State of each attachment, kept so DEL can undo ADD without the runtime's help:
//   <dir>/<containerID>-<ifname>   the attachment (config, original settings, where the netdev went)
//   <dir>/pci/<pciAddr>            which attachment holds the device
// Files are written whole (temporary file + rename), so a crash leaves the old or the new version, never half.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SriovMode, VfSettings } from './config.ts';
import type { VfMode } from './sysfs.ts';

export const DEFAULT_CACHE_DIR = '/var/lib/cni/sriov';

export interface NetdevState {
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  altnames: string[];
}

export interface AttachmentState {
  version: 1;
  containerId: string;
  ifname: string;
  netns: string;
  network: string;
  mode: SriovMode;
  vfMode: VfMode;
  pciAddr?: string;
  pf?: { netdev: string; pciAddr: string; vfIndex: number };
  /** the VF settings this attachment changed, as they were before */
  originalVf?: VfSettings;
  /** the VF settings this attachment applied */
  appliedVf?: VfSettings;
  /** the netdev before it went into the pod */
  originalNetdev?: NetdevState;
  /** MAC/MTU given to the pod interface */
  podMac?: string;
  podMtu?: number;
  cniArgs: string;
  /** the network configuration as ADD received it (for IPAM release from GC or a stale take-over) */
  config: Record<string, unknown>;
  createdAt: string;
}

export interface DeviceMarker {
  containerId: string;
  ifname: string;
  netns: string;
}

function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // a corrupt entry cannot be acted on; treating it as absent keeps DEL from failing forever
    return undefined;
  }
}

export class Cache {
  constructor(readonly dir = DEFAULT_CACHE_DIR) {}

  entryPath(containerId: string, ifname: string): string {
    return join(this.dir, `${containerId}-${ifname}`);
  }

  markerPath(key: string): string {
    return join(this.dir, 'pci', key);
  }

  read(containerId: string, ifname: string): AttachmentState | undefined {
    return readJson<AttachmentState>(this.entryPath(containerId, ifname));
  }

  write(s: AttachmentState): void {
    mkdirSync(this.dir, { recursive: true });
    writeAtomic(this.entryPath(s.containerId, s.ifname), `${JSON.stringify(s, null, 2)}\n`);
  }

  remove(containerId: string, ifname: string): void {
    rmSync(this.entryPath(containerId, ifname), { force: true });
  }

  readMarker(key: string): DeviceMarker | undefined {
    return readJson<DeviceMarker>(this.markerPath(key));
  }

  writeMarker(key: string, m: DeviceMarker): void {
    mkdirSync(join(this.dir, 'pci'), { recursive: true });
    writeAtomic(this.markerPath(key), `${JSON.stringify(m)}\n`);
  }

  /** Removes the marker only while it still names this attachment. */
  removeMarker(key: string, owner: { containerId: string; ifname: string }): void {
    const m = this.readMarker(key);
    if (!m || (m.containerId === owner.containerId && m.ifname === owner.ifname)) rmSync(this.markerPath(key), { force: true });
  }

  /** Every attachment entry (for GC). */
  list(): AttachmentState[] {
    let names: string[];
    try {
      names = readdirSync(this.dir, { withFileTypes: true })
        .filter((d) => d.isFile() && !d.name.includes('.tmp-'))
        .map((d) => d.name);
    } catch {
      return [];
    }
    const out: AttachmentState[] = [];
    for (const n of names) {
      const s = readJson<AttachmentState>(join(this.dir, n));
      if (s && s.version === 1 && typeof s.containerId === 'string') out.push(s);
    }
    return out;
  }
}
