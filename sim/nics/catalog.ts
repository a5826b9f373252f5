// The NIC catalog: PCI IDs, drivers and SR-IOV geometry of the models the simulator offers (docs/reference/nic-ids.md).

export type LinkType = 'ether' | 'infiniband';

export interface NicModel {
  /** short name used in topology files, e.g. "intel-i350" */
  name: string;
  description: string;
  vendor: string; // 4 hex digits, no 0x
  pfDevice: string;
  /** other PF device IDs of the same family (e.g. X710 next to XL710) */
  pfDeviceAliases: string[];
  vfDevice: string | null; // null: no SR-IOV
  pfDriver: string;
  vfDriver: string | null;
  /** the driver a VF is bound to for DPDK */
  dpdkDriver: string | null;
  totalVfs: number;
  /** VF routing-ID offset and stride from the PF (SR-IOV capability) */
  vfOffset: number;
  vfStride: number;
  subsystemVendor: string;
  subsystemDevice: string;
  /** PCI class code, 6 hex digits */
  classCode: string;
  linkType: LinkType;
  /** Mellanox VFs do DPDK through the kernel driver (bifurcated) */
  bifurcated: boolean;
  /** the PF driver implements sriov_configure (so sriov_numvfs is writable) */
  sriovConfigurable: boolean;
}

const base = { pfDeviceAliases: [], classCode: '020000', linkType: 'ether' as const, bifurcated: false, sriovConfigurable: true };

export const nicModels: readonly NicModel[] = [
  {
    ...base,
    name: 'intel-82576',
    description: 'Intel 82576 (QEMU igb)',
    vendor: '8086',
    pfDevice: '10c9',
    vfDevice: '10ca',
    pfDriver: 'igb',
    vfDriver: 'igbvf',
    dpdkDriver: 'vfio-pci',
    totalVfs: 7,
    vfOffset: 128,
    vfStride: 2,
    subsystemVendor: '8086',
    subsystemDevice: '0000',
  },
  {
    ...base,
    name: 'intel-i350',
    description: 'Intel I350 Gigabit',
    vendor: '8086',
    pfDevice: '1521',
    vfDevice: '1520',
    pfDriver: 'igb',
    vfDriver: 'igbvf',
    dpdkDriver: 'vfio-pci',
    totalVfs: 7,
    vfOffset: 128,
    vfStride: 4,
    subsystemVendor: '8086',
    subsystemDevice: '0001',
  },
  {
    ...base,
    name: 'intel-82599',
    description: 'Intel 82599 10GbE',
    vendor: '8086',
    pfDevice: '10fb',
    vfDevice: '10ed',
    pfDriver: 'ixgbe',
    vfDriver: 'ixgbevf',
    dpdkDriver: 'vfio-pci',
    totalVfs: 63,
    vfOffset: 128,
    vfStride: 2,
    subsystemVendor: '8086',
    subsystemDevice: '000c',
  },
  {
    ...base,
    name: 'intel-xl710',
    description: 'Intel Ethernet Controller XL710 / X710',
    vendor: '8086',
    pfDevice: '1583',
    pfDeviceAliases: ['1572'],
    vfDevice: '154c',
    pfDriver: 'i40e',
    vfDriver: 'iavf',
    dpdkDriver: 'vfio-pci',
    totalVfs: 64,
    vfOffset: 16,
    vfStride: 1,
    subsystemVendor: '8086',
    subsystemDevice: '0001',
  },
  {
    ...base,
    name: 'intel-e810',
    description: 'Intel Ethernet Controller E810',
    vendor: '8086',
    pfDevice: '1592',
    pfDeviceAliases: ['159b'],
    vfDevice: '1889',
    pfDriver: 'ice',
    vfDriver: 'iavf',
    dpdkDriver: 'vfio-pci',
    totalVfs: 256,
    vfOffset: 8,
    vfStride: 1,
    subsystemVendor: '8086',
    subsystemDevice: '0002',
  },
  {
    ...base,
    name: 'mlx-cx5',
    description: 'Mellanox ConnectX-5',
    vendor: '15b3',
    pfDevice: '1017',
    vfDevice: '1018',
    pfDriver: 'mlx5_core',
    vfDriver: 'mlx5_core',
    dpdkDriver: 'mlx5_core',
    totalVfs: 16, // firmware-set (SRIOV_NUM_OF_VFS); override per NIC in the topology
    vfOffset: 2,
    vfStride: 1,
    subsystemVendor: '15b3',
    subsystemDevice: '0007',
    bifurcated: true,
  },
  {
    ...base,
    name: 'mlx-cx6',
    description: 'Mellanox ConnectX-6',
    vendor: '15b3',
    pfDevice: '101b',
    vfDevice: '101c',
    pfDriver: 'mlx5_core',
    vfDriver: 'mlx5_core',
    dpdkDriver: 'mlx5_core',
    totalVfs: 16,
    vfOffset: 2,
    vfStride: 1,
    subsystemVendor: '15b3',
    subsystemDevice: '0007',
    bifurcated: true,
  },
  {
    ...base,
    name: 'virtio-net',
    description: 'virtio-net (legacy ID 1af4:1000)',
    vendor: '1af4',
    pfDevice: '1000',
    pfDeviceAliases: ['1041'],
    vfDevice: null,
    pfDriver: 'virtio-pci',
    vfDriver: null,
    dpdkDriver: 'vfio-pci',
    totalVfs: 0,
    vfOffset: 0,
    vfStride: 0,
    subsystemVendor: '1af4',
    subsystemDevice: '0001',
    sriovConfigurable: false,
  },
];

/**
 * How long a driver keeps a link down, as measured on a real kernel (bench/vf-carrier.ts: QEMU's igb, the 82576,
 * under TCG; a driver without an entry is modelled with its link up at once).
 */
export interface DriverLinkTiming {
  /**
   * PF driver: changing `sriov_numvfs` re-initialises the PF (igb: igb_sriov_reinit closes and reopens the netdev),
   * so its carrier is off during the write and comes back this long after the write returned. Its VFs' health
   * follows (a plugin reports them Unhealthy while their PF has no carrier).
   */
  sriovReinitCarrierMs?: number;
  /** VF driver: a new VF netdev's carrier comes on this long after it was created (igbvf waits for the PF mailbox) */
  vfCarrierMs?: number;
}

/** per driver name; the figures are medians of bench/vf-carrier.ts (3 rounds, 2 VFs) */
export const driverLinkTiming: Readonly<Record<string, DriverLinkTiming>> = {
  igb: { sriovReinitCarrierMs: 630 },
  igbvf: { vfCarrierMs: 9740 },
};

export function getNicModel(name: string): NicModel | undefined {
  return nicModels.find((m) => m.name === name);
}

export function nicModelNames(): string[] {
  return nicModels.map((m) => m.name);
}

/** Kernel drivers and the device IDs their id tables claim (vfio-pci claims none: it binds by driver_override/new_id). */
export function driverIdTables(): Map<string, Array<{ vendor: string; device: string }>> {
  const t = new Map<string, Array<{ vendor: string; device: string }>>();
  const add = (drv: string, vendor: string, device: string) => {
    const list = t.get(drv) ?? [];
    if (!list.some((e) => e.vendor === vendor && e.device === device)) list.push({ vendor, device });
    t.set(drv, list);
  };
  for (const m of nicModels) {
    for (const d of [m.pfDevice, ...m.pfDeviceAliases]) add(m.pfDriver, m.vendor, d);
    if (m.vfDevice && m.vfDriver) add(m.vfDriver, m.vendor, m.vfDevice);
  }
  for (const extra of ['vfio-pci', 'uio_pci_generic', 'igb_uio']) if (!t.has(extra)) t.set(extra, []);
  return t;
}
