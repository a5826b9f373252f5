// PCI addresses (DDDD:BB:DD.F) and SR-IOV VF placement. Pure and allocation-light: the kernel model calls these on
// every VF it creates.

export interface PciAddr {
  domain: number; // 0..0xffff
  bus: number; // 0..0xff
  dev: number; // 0..0x1f
  fn: number; // 0..7
}

const PCI_RE = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;

export class PciAddrError extends RangeError {
  readonly value: string;
  constructor(value: string, detail: string) {
    super(`invalid PCI address "${value}": ${detail}`);
    this.name = 'PciAddrError';
    this.value = value;
  }
}

/** Why `s` is not a PCI address in DDDD:BB:DD.F form, or undefined when it is one. */
export function pciAddrProblem(s: string): string | undefined {
  const m = PCI_RE.exec(s);
  if (!m) return 'expected DDDD:BB:DD.F (hex domain:bus:device.function, e.g. 0000:01:00.0)';
  if (parseInt(m[3], 16) > 0x1f) return `device ${m[3]} is above 1f`;
  return undefined;
}

/** Parse DDDD:BB:DD.F (either case). Throws PciAddrError. */
export function parsePciAddr(s: string): PciAddr {
  const m = PCI_RE.exec(s);
  if (!m) throw new PciAddrError(s, 'expected DDDD:BB:DD.F (hex domain:bus:device.function, e.g. 0000:01:00.0)');
  const dev = parseInt(m[3], 16);
  if (dev > 0x1f) throw new PciAddrError(s, `device ${m[3]} is above 1f`);
  return { domain: parseInt(m[1], 16), bus: parseInt(m[2], 16), dev, fn: m[4].charCodeAt(0) - 48 };
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// no masking: an out-of-range field must stay visible in the text, not wrap onto another device
const h2 = (n: number): string => HEX2[n] ?? n.toString(16).padStart(2, '0');

/** The canonical (lower-case) form the kernel uses in sysfs. */
export function formatPciAddr(a: PciAddr): string {
  const domain = a.domain < 0x10000 ? `${h2(a.domain >> 8)}${h2(a.domain & 0xff)}` : a.domain.toString(16);
  return `${domain}:${h2(a.bus)}:${h2(a.dev)}.${a.fn}`;
}

/** Routing ID within the domain: bus<<8 | dev<<3 | fn. */
export function routingId(a: PciAddr): number {
  return (a.bus << 8) | (a.dev << 3) | a.fn;
}

export function fromRoutingId(domain: number, rid: number): PciAddr {
  return { domain, bus: rid >> 8, dev: (rid >> 3) & 0x1f, fn: rid & 7 };
}

/**
 * Address of VF k (0-based, the N of virtfnN) of the PF at pfAddr:
 * routing id = routingId(pf) + offset + k·stride, in the PF's domain (SR-IOV spec §3.3.10/11).
 * Throws PciAddrError when the VF would fall past bus ff.
 */
// the kernel model asks for VF after VF of the same PF: remember the last PF parsed
let lastPfText = '';
let lastPf: PciAddr = { domain: 0, bus: 0, dev: 0, fn: 0 };

export function vfPciAddr(pfAddr: string, offset: number, stride: number, k: number): string {
  if (pfAddr !== lastPfText) {
    lastPf = parsePciAddr(pfAddr);
    lastPfText = pfAddr;
  }
  const pf = lastPf;
  const rid = routingId(pf) + offset + k * stride;
  if (rid > 0xffff) throw new PciAddrError(pfAddr, `VF ${k} (offset ${offset}, stride ${stride}) falls past bus ff`);
  return formatPciAddr(fromRoutingId(pf.domain, rid));
}
