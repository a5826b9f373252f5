// The hardware seam over a VM: the host backend's HostSystem interface served by the guest agent, so code written
// for a real machine (guard rails, snapshots, the journal's restore, a backend's sysfs reads and writes) can drive a
// guest from the host unchanged. Paths are the node's view (the chroot); commands run in the chroot.
import { HostSysfsError, type HostSystem } from '../host/system.ts';
import { CHROOT } from './guest-files.ts';
import { shQuote, VmFileError, type Vm } from './vm.ts';

export function vmSystem(vm: Vm): HostSystem {
  const fileErr = (e: unknown, op: HostSysfsError['op']): never => {
    if (e instanceof VmFileError) throw new HostSysfsError(e.path, op, e.errno, e.detail);
    throw e;
  };
  // file operations run in the initramfs's busybox on the chroot's tree (the same files, without starting host
  // programs over 9p); commands run in the chroot
  const inRoot = (path: string): string => shQuote(`${CHROOT}${path}`);
  const shOut = async (path: string, op: HostSysfsError['op'], script: string): Promise<string> => {
    const r = await vm.exec(['/bin/sh', '-c', script], { where: 'guest' });
    if (r.exitCode !== 0) {
      const { errnoFromMessage } = await import('../node/errno.ts');
      throw new HostSysfsError(path, op, errnoFromMessage(r.stderr), r.stderr.trim());
    }
    return r.stdout;
  };
  return {
    read: (path) => vm.readFile(path).then((b) => b.toString().replace(/\n$/, ''), (e) => fileErr(e, 'read')),
    write: (path, value) => vm.writeFile(path, value).catch((e) => fileErr(e, 'write')),
    readlink: async (path) => (await shOut(path, 'readlink', `readlink ${inRoot(path)} || { ls -d ${inRoot(path)} >/dev/null; exit 1; }`)).replace(/\n$/, ''),
    list: async (path) => (await shOut(path, 'list', `ls -1a ${inRoot(path)}`)).split('\n').filter((l) => l && l !== '.' && l !== '..').sort(),
    exists: async (path) => (await vm.exec(['test', '-e', `${CHROOT}${path}`], { where: 'guest' })).exitCode === 0,
    async run(argv) {
      const r = await vm.exec(argv[0] === 'ip' ? ['/usr/sbin/ip', ...argv.slice(1)] : argv);
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs };
    },
  };
}
