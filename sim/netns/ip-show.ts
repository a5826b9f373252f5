// Splices simulated VF info into the real output of `ip link show` / `ip -d addr show`, where iproute2 6.1 would
// have printed it had the kernel reported IFLA_VFINFO_LIST: text lines after the link's details and before its
// altnames and addresses; JSON `vfinfo_list` before `altnames`/`addr_info`. Everything else is left byte for byte.
import { iprouteJson, renderVfText, vfInfoJson, type VfRenderOptions, type VfView } from './vf-netlink.ts';

export interface PfVfInfo {
  vfs: VfView[];
  render?: VfRenderOptions;
}

// "3: ens1f0@p0: <…" — the interface name ends at "@" (the link's peer) or at ":"
const LINK_HEADER = /^\d+: ([^\s:@]+)(?:@[^\s:]+)?: </;
// lines iproute2 prints after the VF list: altnames, then (ip addr) the addresses
const AFTER_VFS = /^(?: {4}(?:altname |inet |inet6 |dnet |family )| {5}ipx )/;

export function addVfsToText(out: string, pfs: ReadonlyMap<string, PfVfInfo>, oneline: boolean): string {
  // a VF's text may span lines (counters with -s): "\n" is iproute2's _SL_, "\\" in oneline mode
  if (pfs.size === 0) return out;
  const lines = out.split('\n');
  const result: string[] = [];
  if (oneline) {
    for (const line of lines) {
      const m = LINK_HEADER.exec(line);
      const pf = m ? pfs.get(m[1]) : undefined;
      if (!pf || pf.vfs.length === 0) {
        result.push(line);
        continue;
      }
      const vfText = pf.vfs.map((vf) => `\\${renderVfText(vf, pf.render).replaceAll('\n', '\\')}`).join('');
      const at = line.indexOf('\\    altname ');
      result.push(at >= 0 ? line.slice(0, at) + vfText + line.slice(at) : line + vfText);
    }
    return result.join('\n');
  }
  let pending: string[] | null = null;
  const flush = () => {
    if (pending) result.push(...pending);
    pending = null;
  };
  for (const line of lines) {
    const m = LINK_HEADER.exec(line);
    if (m) {
      flush();
      const pf = pfs.get(m[1]);
      if (pf && pf.vfs.length > 0) pending = pf.vfs.flatMap((vf) => renderVfText(vf, pf.render).split('\n'));
      result.push(line);
      continue;
    }
    if (pending && (AFTER_VFS.test(line) || line === '')) flush();
    result.push(line);
  }
  flush();
  return result.join('\n');
}

interface Member {
  key: string;
  valueStart: number;
  valueEnd: number;
}

/** Positions of the members of each top-level object in an array of objects (the shape `ip -j` prints). */
function scanTopLevelObjects(s: string): Array<{ members: Member[] }> {
  let i = 0;
  const ws = () => {
    while (i < s.length && ' \t\r\n'.includes(s[i])) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(s.slice(start, i)) as string;
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '"') return void str();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (s[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          str();
          ws();
          i++; // ':'
        }
        value();
        ws();
        if (s[i++] === close) return;
      }
    }
    while (i < s.length && !',}] \t\r\n'.includes(s[i])) i++;
  };
  const objects: Array<{ members: Member[] }> = [];
  ws();
  if (s[i] !== '[') return objects;
  i++;
  ws();
  while (i < s.length && s[i] !== ']') {
    ws();
    if (s[i] !== '{') return objects;
    i++;
    const members: Member[] = [];
    ws();
    while (s[i] !== '}') {
      ws();
      const key = str();
      ws();
      i++; // ':'
      ws();
      const valueStart = i;
      value();
      members.push({ key, valueStart, valueEnd: i });
      ws();
      if (s[i] === ',') i++;
      ws();
    }
    i++;
    objects.push({ members });
    ws();
    if (s[i] === ',') i++;
    ws();
  }
  return objects;
}

/**
 * Adds `vfinfo_list` to the PFs in `ip -j [-p] link|addr show` output. A PF that supports SR-IOV gets the key
 * even with no VFs (the kernel sends an empty IFLA_VFINFO_LIST), as in real output.
 */
export function addVfsToJson(out: string, pfs: ReadonlyMap<string, PfVfInfo>, pretty: boolean): string {
  if (pfs.size === 0) return out;
  const inserts: Array<{ at: number; text: string }> = [];
  for (const { members } of scanTopLevelObjects(out)) {
    const ifnameMember = members.find((m) => m.key === 'ifname');
    if (!ifnameMember || members.some((m) => m.key === 'vfinfo_list')) continue;
    const pf = pfs.get(JSON.parse(out.slice(ifnameMember.valueStart, ifnameMember.valueEnd)) as string);
    if (!pf) continue;
    const before = members.findIndex((m) => m.key === 'altnames' || m.key === 'addr_info');
    const after = before > 0 ? members[before - 1] : before === 0 ? undefined : members[members.length - 1];
    if (!after) continue;
    const list = pf.vfs.map((vf) => vfInfoJson(vf, pf.render));
    const text = `,${pretty ? `\n${' '.repeat(8)}` : ''}"vfinfo_list":${pretty ? ' ' : ''}${iprouteJson(list, pretty, 2)}`;
    inserts.push({ at: after.valueEnd, text });
  }
  let res = out;
  for (const { at, text } of inserts.sort((a, b) => b.at - a.at)) res = res.slice(0, at) + text + res.slice(at);
  return res;
}
