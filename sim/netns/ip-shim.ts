// The `ip` a simulated node puts on its PATH (or binds over /usr/sbin/ip and /bin/ip): a POSIX sh script that
// sends `ip … link …` and `ip … address …` to the Node wrapper (dist/ip-wrapper.mjs) and everything else straight
// to the real iproute2, so `ip route`, `ip netns exec` and friends do not pay Node's ~0.1 s start-up.
// The wrapper itself decides precisely (it passes through whatever it does not simulate); the shim only has to
// never send a VF command or a link/address listing past it. A batch (`ip -batch FILE|-`) goes to the wrapper when
// a line of the file, or the first line read from stdin, would.

export interface IpShimOptions {
  /** absolute path of the node binary */
  nodePath: string;
  /** absolute path of dist/ip-wrapper.mjs */
  wrapperPath: string;
  /** real iproute2 binary; the wrapper and the shim also honour SRIOV_LAB_REAL_IP at run time */
  realIpPath?: string;
  /**
   * Files the node keeps current: the PFs' interface names (one per line), and the node netns' id as
   * readlink(/proc/self/ns/net) shows it. When both exist the shim sends to the wrapper only what needs it: `vf`
   * settings, and listings in the node's netns that can include a PF. Everything else (a move into a pod, a listing
   * inside a pod's netns, `ip link show <a VF>`) goes straight to iproute2 and skips Node's start-up.
   */
  pfListPath?: string;
  nodeNetnsPath?: string;
  /**
   * instead of nodeNetnsPath: a path whose file is the node's netns itself (its /run/netns entry, as the node sees
   * it), compared with /proc/self/ns/net by `test -ef` inside the shell: no readlink and cat processes per call
   */
  nodeNetnsFile?: string;
  /**
   * the node's control socket, exported as SRIOV_LAB_CTL unless the caller set it (default: the wrapper's own
   * default, /run/sriov-lab/ctl.sock; an adopted container has it in its share)
   */
  controlSocketPath?: string;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function ipShimScript(opts: IpShimOptions): string {
  const real = opts.realIpPath ?? '/run/sriov-lab/ip.real';
  const wrap = `exec ${shQuote(opts.nodePath)} ${shQuote(opts.wrapperPath)} "$@"`;
  return `#!/bin/sh
# sriov-lab: ip for a simulated node (VF netlink is simulated; see sim/netns/ip-wrapper.ts)
real=\${SRIOV_LAB_REAL_IP:-${shQuote(real)}}
# the wrapper runs the same real ip
SRIOV_LAB_REAL_IP=$real
export SRIOV_LAB_REAL_IP
${opts.controlSocketPath ? `SRIOV_LAB_CTL=\${SRIOV_LAB_CTL:-${shQuote(opts.controlSocketPath)}}
export SRIOV_LAB_CTL
` : ''}pfs=${shQuote(opts.pfListPath ?? '')}
nodens=${shQuote(opts.nodeNetnsPath ?? '')}
nodensfile=${shQuote(opts.nodeNetnsFile ?? '')}
precise=
pfnames=
# shell builtins only on this path: the shim runs once per ip call
here() {
  if [ -n "$nodensfile" ]; then [ /proc/self/ns/net -ef "$nodensfile" ]; return; fi
  read -r id < "$nodens" || true
  [ "$(readlink /proc/self/ns/net)" = "$id" ]
}
if [ -n "$pfs" ] && [ -r "$pfs" ] && { [ -n "$nodensfile" ] || { [ -n "$nodens" ] && [ -r "$nodens" ]; }; }; then
  # PFs never leave the node's netns: in any other netns there is no VF info to add
  here || { for a in "$@"; do [ "$a" = vf ] && ${wrap}; done; exec "$real" "$@"; }
  precise=1
  while IFS= read -r l || [ -n "$l" ]; do pfnames="$pfnames $l"; done < "$pfs"
fi
# succeeds when a command (ip's argv, or a line of a batch) needs the wrapper
wants() {
  skip=; obj=; verb=; named=
  for a in "$@"; do
    if [ -n "$skip" ]; then skip=; continue; fi
    if [ -z "$obj" ]; then
      case $a in
        # global options that take a value (-family, -loops, -rcvbuf); -netns values fall through harmlessly
        -f|-fa*|--f|--fa*|-l|-lo*|--l|--lo*|-rc*|--rc*) skip=1 ;;
        -*) ;;
        l|li|lin|link|a|ad|add|addr|addre|addres|address) obj=$a; [ -n "$precise" ] || return 0 ;;
        *) return 1 ;;
      esac
      continue
    fi
    [ "$a" = vf ] && return 0
    for p in $pfnames; do [ "$a" = "$p" ] && return 0; done
    if [ -z "$verb" ]; then verb=$a; continue; fi
    case $a in
      up|type|master|nomaster|group|vrf|scope|label|to|permanent|dynamic|primary|secondary|tentative|deprecated|dadfailed|temporary) ;;
      *) named=1 ;;
    esac
  done
  [ -n "$obj" ] || return 1
  case $verb in
    ''|s|sh|sho|show|l|li|lis|list|ls|lst) [ -n "$named" ] || return 0 ;;
    -*) return 0 ;;
  esac
  return 1
}
# -batch FILE among the global options ("-b" is -batch, "-br" -brief): batch=FILE
batch=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then [ "$skip" = b ] && batch=$a; skip=; [ -n "$batch" ] && break; continue; fi
  case $a in
    -b|-ba|-bat|-batc|-batch|--b|--ba|--bat|--batc|--batch) skip=b ;;
    -f|-fa*|--f|--fa*|-l|-lo*|--l|--lo*|-rc*|--rc*|-n|-ne*|--n|--ne*) skip=1 ;;
    -*) ;;
    *) break ;;
  esac
done
if [ -n "$batch" ]; then
  [ -n "$precise" ] || ${wrap}
  set -f
  if [ "$batch" = - ]; then
    # the wrapper when the first command needs it (it is handed over in SRIOV_LAB_IP_BATCH_FIRST: read from a pipe,
    # it is gone); the rest streams to whichever runs, so a caller may read each command's output before the next
    if IFS= read -r first || [ -n "$first" ]; then
      # shellcheck disable=SC2086
      if wants $first; then
        SRIOV_LAB_IP_BATCH_FIRST=$first
        export SRIOV_LAB_IP_BATCH_FIRST
        ${wrap}
      fi
      { printf '%s\n' "$first"; exec cat; } | "$real" "$@"
      exit $?
    fi
  elif [ -r "$batch" ]; then
    # shellcheck disable=SC2086
    while IFS= read -r l || [ -n "$l" ]; do wants $l && ${wrap}; done < "$batch"
  fi
  exec "$real" "$@"
fi
wants "$@" && ${wrap}
exec "$real" "$@"
`;
}
