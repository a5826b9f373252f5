// Static snapshot projection: the model written out as plain files, directories and symlinks.
// For fixtures (plugin tests with a relocated /sys) and for machines without FUSE. Writes to it have no side effects.
import { mkdirSync, writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { SysfsModel } from './model.ts';

/**
 * Writes the model under `dir`: `<dir>/sys/...` and `<dir>/dev/vfio/...`.
 * Returns the two roots a program would be given (`--sysfs-root`, `--vfio-root`-style flags).
 */
export function writeSnapshot(model: SysfsModel, dir: string): { sysRoot: string; devVfio: string } {
  for (const e of model.walk()) {
    const p = join(dir, e.path);
    if (e.kind === 'dir') mkdirSync(p, { recursive: true });
    else if (e.kind === 'link') symlinkSync(e.value!, p);
    else {
      writeFileSync(p, e.value ?? '');
      chmodSync(p, e.mode & 0o666 ? e.mode : 0o200);
    }
  }
  return { sysRoot: join(dir, 'sys'), devVfio: join(dir, 'dev', 'vfio') };
}
