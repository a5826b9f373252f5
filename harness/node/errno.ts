// Guest tools report failures as strerror text ("cat: write error: Device or resource busy"); the harness compares
// errno names (EBUSY), so map the glibc/musl/busybox texts back.
const table: Array<[string, string]> = [
  ['Operation not permitted', 'EPERM'],
  ['No such file or directory', 'ENOENT'],
  ['No such process', 'ESRCH'],
  ['Input/output error', 'EIO'],
  ['I/O error', 'EIO'],
  ['No such device or address', 'ENXIO'],
  ['Argument list too long', 'E2BIG'],
  ['Bad file descriptor', 'EBADF'],
  ['Resource temporarily unavailable', 'EAGAIN'],
  ['Cannot allocate memory', 'ENOMEM'],
  ['Out of memory', 'ENOMEM'],
  ['Permission denied', 'EACCES'],
  ['Bad address', 'EFAULT'],
  ['Device or resource busy', 'EBUSY'],
  ['File exists', 'EEXIST'],
  ['No such device', 'ENODEV'],
  ['Not a directory', 'ENOTDIR'],
  ['Is a directory', 'EISDIR'],
  ['Invalid argument', 'EINVAL'],
  ['No space left on device', 'ENOSPC'],
  ['Read-only file system', 'EROFS'],
  ['Numerical result out of range', 'ERANGE'],
  ['Result not representable', 'ERANGE'],
  ['Operation not supported', 'EOPNOTSUPP'],
  ['Not supported', 'EOPNOTSUPP'],
  ['Function not implemented', 'ENOSYS'],
  ['Network is down', 'ENETDOWN'],
  ['Operation timed out', 'ETIMEDOUT'],
  ['Connection timed out', 'ETIMEDOUT'],
];

/** The errno name for the last strerror text in `message`, or "EIO" when none is recognised. */
export function errnoFromMessage(message: string): string {
  let best: { at: number; len: number; errno: string } | undefined;
  for (const [text, errno] of table) {
    const at = message.lastIndexOf(text);
    // the latest text wins; at the same place the longer one ("No such device or address" over "No such device")
    if (at >= 0 && (!best || at > best.at || (at === best.at && text.length > best.len))) best = { at, len: text.length, errno };
  }
  return best?.errno ?? 'EIO';
}
