// The `ip` a simulated node puts on its PATH (or binds over /usr/sbin/ip and /bin/ip): a POSIX sh script that
// sends `ip … link …` and `ip … address …` to the Node wrapper (dist/ip-wrapper.mjs) and everything else straight
// to the real iproute2, so `ip route`, `ip netns exec` and friends do not pay Node's ~0.1 s start-up.
// The wrapper itself decides precisely (it passes through whatever it does not simulate); the shim only has to
// never send a VF command or a link/address listing past it.

export interface IpShimOptions {
  /** absolute path of the node binary */
  nodePath: string;
  /** absolute path of dist/ip-wrapper.mjs */
  wrapperPath: string;
  /** real iproute2 binary; the wrapper and the shim also honour SRIOV_LAB_REAL_IP at run time */
  realIpPath?: string;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function ipShimScript(opts: IpShimOptions): string {
  const real = opts.realIpPath ?? '/run/sriov-lab/ip.real';
  return `#!/bin/sh
# sriov-lab: ip for a simulated node (VF netlink is simulated; see sim/netns/ip-wrapper.ts)
real=\${SRIOV_LAB_REAL_IP:-${shQuote(real)}}
# the wrapper runs the same real ip
SRIOV_LAB_REAL_IP=$real
export SRIOV_LAB_REAL_IP
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case $a in
    # global options that take a value (-family, -loops, -rcvbuf); -netns and -batch values fall through harmlessly
    -f|-fa*|--f|--fa*|-l|-lo*|--l|--lo*|-rc*|--rc*) skip=1 ;;
    -*) ;;
    l|li|lin|link|a|ad|add|addr|addre|addres|address) exec ${shQuote(opts.nodePath)} ${shQuote(opts.wrapperPath)} "$@" ;;
    *) exec "$real" "$@" ;;
  esac
done
exec "$real" "$@"
`;
}
