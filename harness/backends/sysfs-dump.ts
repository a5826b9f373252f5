// The sysfs dump of a catch collector, shared by simulated and lightweight nodes.

/** one entry of the model's sysfs tree (SysfsModel.walk, the control socket's snapshot) */
export interface SysfsEntry {
  path: string;
  kind: string;
  value?: string;
}

/** The SR-IOV devices' sysfs as text, one `path = value` / `path -> target` a line (drivers and iommu groups left out). */
export function formatSysfsDump(entries: readonly SysfsEntry[]): string {
  return entries
    .filter((e) => e.kind !== 'dir' && !e.path.startsWith('/sys/bus/pci/drivers/') && !e.path.includes('/kernel/iommu_groups/'))
    .map((e) => `${e.path}${e.kind === 'link' ? ` -> ${e.value}` : e.value !== undefined ? ` = ${e.value.trimEnd()}` : ''}`)
    .join('\n');
}
