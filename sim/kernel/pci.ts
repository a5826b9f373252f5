// PCI addresses (DDDD:BB:DD.F) and SR-IOV routing-ID arithmetic.

export interface PciAddr {
  domain: number;
  bus: number;
  dev: number;
  fn: number;
}

const PCI_RE = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])$/;

export function parsePciAddr(s: string): PciAddr | null {
  const m = PCI_RE.exec(s);
  if (!m) return null;
  const dev = parseInt(m[3], 16);
  if (dev > 0x1f) return null;
  return { domain: parseInt(m[1], 16), bus: parseInt(m[2], 16), dev, fn: parseInt(m[4], 16) };
}

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');

export function formatPciAddr(a: PciAddr): string {
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.dev, 2)}.${a.fn}`;
}

/** Address of VF k (0-based): routing ID = PF's (bus<<8 | dev<<3 | fn) + offset + k*stride. */
export function vfPciAddr(pfAddr: string, offset: number, stride: number, k: number): string {
  const a = parsePciAddr(pfAddr);
  if (!a) throw new Error(`invalid PCI address "${pfAddr}"`);
  const rid = ((a.bus << 8) | (a.dev << 3) | a.fn) + offset + k * stride;
  if (rid > 0xffff) throw new Error(`VF ${k} of ${pfAddr} falls beyond bus ff`);
  return formatPciAddr({ domain: a.domain, bus: rid >> 8, dev: (rid >> 3) & 0x1f, fn: rid & 7 });
}
