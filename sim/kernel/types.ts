// Shared shapes of the kernel model: what other modules (netns, node, harness) may rely on.

/** errno names the model returns; values are Linux's. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENODEV: 19,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ERANGE: 34,
  ELOOP: 40,
  ENOTDIR: 20,
  EISDIR: 21,
  EOPNOTSUPP: 95,
} as const;
export type ErrnoName = keyof typeof ERRNO;

export type VlanProto = '802.1Q' | '802.1ad';
export type VfLinkState = 'auto' | 'enable' | 'disable';

/** VF attributes as `ip link set PF vf N …` sets them and `ip -d link show PF` reports them. */
export interface VfAttrs {
  mac: string; // "00:00:00:00:00:00" when unset
  vlan: number; // 0 = none
  qos: number;
  vlanProto: VlanProto;
  spoofchk: boolean;
  trust: boolean;
  linkState: VfLinkState;
  minTxRate: number; // Mbps
  maxTxRate: number; // Mbps
}

export type VfAttrsPatch = Partial<VfAttrs>;

/** One observable operation on the model, for the trace. */
export interface SysfsEvent {
  seq: number;
  op: 'read' | 'write' | 'readlink' | 'readdir' | 'fault' | 'vf' | 'hotplug' | 'link';
  path: string;
  value?: string;
  /** errno name on failure, absent on success */
  errno?: ErrnoName;
}

export class SysfsError extends Error {
  readonly path: string;
  readonly op: string;
  readonly errno: ErrnoName;
  constructor(path: string, op: string, errno: ErrnoName, detail?: string) {
    super(`${op} ${path}: ${errno}${detail ? ` (${detail})` : ''}`);
    this.name = 'SysfsError';
    this.path = path;
    this.op = op;
    this.errno = errno;
  }
}

/**
 * The control protocol of a running sysfs server (JSON lines over a unix socket).
 * The node exposes the socket at /run/sriov-lab/ctl.sock; SRIOV_LAB_CTL overrides it.
 */
export type ControlRequest =
  | { op: 'vf.set'; pf: string; vf: number; attrs: VfAttrsPatch }
  | { op: 'vf.list'; pf: string }
  | { op: 'pf.list' }
  | { op: 'fault.failWrites'; path: string; errno: ErrnoName; count: number }
  | { op: 'fault.delay'; path: string; delayMs: number; count: number }
  /** the next `count` settings of `attr` on a VF of `pf` (`ip link set PF vf N …`) fail with `errno` */
  | { op: 'fault.failVfSet'; pf: string; attr: keyof VfAttrs; errno: ErrnoName; count: number }
  | { op: 'vf.unplug'; pciAddr: string }
  | { op: 'link.set'; ifname: string; up: boolean }
  | { op: 'events'; since: number }
  | { op: 'snapshot' }
  | { op: 'netdev.sync' }
  /** the FUSE server's counters for this mount (requests by op, notifications, inodes the kernel holds) */
  | { op: 'fuse.stats' };

export interface PfSummary {
  ifname: string | null;
  pciAddr: string;
  numVfs: number;
  totalVfs: number;
}

export type ControlResponse =
  | { ok: true; vfs?: Array<VfAttrs & { index: number; pciAddr: string }>; pfs?: PfSummary[]; events?: SysfsEvent[]; data?: unknown }
  | { ok: false; errno: ErrnoName; message: string };
