// The scripts baked into the guest's initramfs: /init, the busybox init's rc and inittab, and the agent that serves
// the host over a virtio-serial port. They are inputs of the artefact cache key, so any edit here rebuilds.
//
// Agent line protocol (one request or reply per line; fields separated by one space; "-" is an empty field; every
// payload is base64):
//   host → guest                               guest → host
//   HELLO <nonce>                               HELLO <nonce> <agentVersion>
//   EXEC <id> <script> <stdin> chroot|guest     EXIT <id> <exitCode> <stdout> <stderr>
//   KILL <id> <signal>                          (the EXEC then replies as usual)
//   READ <id> <path>                            READ <id> 0 <data>       | READ <id> ERR <message>
//   WRITE <id> <path> <data>                    WRITE <id> 0             | WRITE <id> ERR <message>
// A payload too large for a line (busybox reads a line byte by byte) is written by the host into the run dir's
// xfer/ folder, shared over 9p, and sent as "@<file name>".
// EXEC runs the script with /bin/sh in the chroot (host /usr, the shared project directory, tmpfs /etc overlay,
// /var, /run, /opt: the node-standard paths) or, with "guest", in the initramfs's busybox. Each request runs in its
// own process, so requests may overlap; replies are serialised with a lock directory because virtio ports allow
// one open file and replies must not interleave.

export const AGENT_VERSION = '1';
export const AGENT_PORT_NAME = 'sriov-lab.agent';
/** Printed on the serial console once the guest's set-up finished (the agent starts right after). */
export const BOOT_MARKER = 'SRIOV-LAB-BOOTED';
/** Printed when a mount or module load failed during set-up; the rest of the line says which. */
export const BOOT_ERROR_MARKER = 'SRIOV-LAB-ERROR';
export const CHROOT = '/mnt/root';
/** Where the agent keeps per-request files, as seen inside the chroot. */
export const AGENT_DIR_IN_CHROOT = '/run/sriov-lab/agent';
/** The host run dir's xfer/ folder, as seen inside the chroot. */
export const XFER_DIR_IN_CHROOT = '/run/sriov-lab/xfer';

/** The modules loaded at boot (with their dependencies from modules.dep). */
export const BOOT_MODULES = [
  'virtio_pci', 'virtio_console', 'virtio_net', '9pnet_virtio', '9p', 'overlay',
  'igb', 'igbvf', 'vfio', 'vfio_iommu_type1', 'vfio-pci',
];
/** Shipped in the initramfs for scenarios to load on demand (pods' veth pairs, bridges, vlans, tap). */
export const EXTRA_MODULES = ['veth', 'tun', 'bridge', 'macvlan', 'macvtap', 'dummy', '8021q', 'vxlan'];

export const INIT = `#!/bin/sh
# PID 1 hands over to busybox init (it reaps orphans and respawns the agent); set-up runs as its sysinit.
exec /bin/busybox init
`;

export const INITTAB = `::sysinit:/etc/sriov-lab/rc
::respawn:/etc/sriov-lab/agent
::ctrlaltdel:/bin/poweroff -f
::shutdown:/bin/sync
`;

export const RC = `#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
fail() { echo "${BOOT_ERROR_MARKER}: $*" > /dev/console; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run /tmp /mnt
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in $(cat /etc/sriov-lab/modules); do modprobe "$m" || fail "modprobe $m"; done

cfg=$(sed -n 's/.*sl_cfg=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
[ -n "$cfg" ] && echo "$cfg" | base64 -d > /run/sl.cfg && . /run/sl.cfg
[ -n "$SL_HOSTNAME" ] && hostname "$SL_HOSTNAME"
ip link set lo up

if [ -n "$SL_MGMT_MAC" ]; then
  for n in /sys/class/net/*; do
    [ "$(cat $n/address)" = "$SL_MGMT_MAC" ] || continue
    ip link set "\${n##*/}" name mgmt0 && ip addr add 10.0.2.15/24 dev mgmt0 && ip link set mgmt0 up && ip route add default via 10.0.2.2 || fail "mgmt0"
  done
fi

if [ "$SL_PROBE" = 1 ]; then echo "${BOOT_MARKER} probe" > /dev/console; poweroff -f; fi

# virtio-serial ports by name (udev would make these links)
mkdir -p /dev/virtio-ports
for d in /sys/class/virtio-ports/vport*; do
  [ -e "$d/name" ] || continue
  n=$(cat "$d/name"); [ -n "$n" ] && ln -sf "../\${d##*/}" "/dev/virtio-ports/$n"
done

R=${CHROOT}
O="trans=virtio,version=9p2000.L,msize=512000"
mkdir -p $R
mount -t tmpfs -o mode=755 root $R || fail "tmpfs $R"
mkdir -p $R/usr $R/etc $R/proc $R/sys $R/dev $R/run $R/tmp $R/var/tmp $R/var/lib $R/var/log $R/var/run $R/opt $R/root $R/home $R/mnt $R/.sl/etc
chmod 1777 $R/tmp $R/var/tmp
mount -t 9p -o "$O,ro,cache=loose" usr $R/usr || fail "9p usr"
for l in bin sbin lib lib32 lib64 libx32; do [ -e "$R/usr/$l" ] && ln -s "usr/$l" "$R/$l"; done
mount -t 9p -o "$O,ro,cache=loose" etc $R/.sl/etc || fail "9p etc"
mkdir -p /run/sl-etc/upper /run/sl-etc/work
mount -t overlay overlay -o "lowerdir=$R/.sl/etc,upperdir=/run/sl-etc/upper,workdir=/run/sl-etc/work" $R/etc || fail "overlay etc"
# the guest is its own node: nothing of the host's CNI or kubelet configuration
rm -rf $R/etc/cni $R/etc/kubernetes $R/etc/sriov-lab
mkdir -p $R/etc/cni/net.d
[ -n "$SL_HOSTNAME" ] && echo "$SL_HOSTNAME" > $R/etc/hostname
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount --bind /dev $R/dev
mount --bind /dev/pts $R/dev/pts
mount -t tmpfs -o mode=755 run $R/run
mkdir -p $R/run/netns $R${AGENT_DIR_IN_CHROOT} $R/var/lib/kubelet $R/opt/cni/bin
ln -sf /run $R/var/run 2>/dev/null
echo "$SL_SHARES" | while read -r tag target mode cache; do
  [ -n "$tag" ] || continue
  mkdir -p "$R$target"
  mount -t 9p -o "$O,$mode,cache=$cache" "$tag" "$R$target" || fail "9p $tag at $target"
done
echo "${BOOT_MARKER} $(uname -r)" > /dev/console
`;

export const AGENT = `#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
PORT=/dev/virtio-ports/${AGENT_PORT_NAME}
A=${CHROOT}${AGENT_DIR_IN_CHROOT}
mkdir -p $A
rmdir $A/.lock 2>/dev/null # a reply lock left by an agent that died (init respawns us)
exec 3<>$PORT || { echo "${BOOT_ERROR_MARKER}: agent cannot open $PORT" > /dev/console; sleep 5; exit 1; }
lock() { until mkdir $A/.lock 2>/dev/null; do usleep 1000; done; }
unlock() { rmdir $A/.lock; }
d64() { case "$1" in -) ;; @*) cat "${CHROOT}${XFER_DIR_IN_CHROOT}/\${1#@}" ;; *) echo "$1" | base64 -d ;; esac; }
e64() { if [ -s "$1" ]; then base64 -w 0 "$1"; else printf -; fi; }
reply() { lock; printf '%s\\n' "$*" >&3; unlock; }
do_exec() {
  d=$A/$1; mkdir -p $d
  d64 "$2" > $d/cmd.sh; d64 "$3" > $d/in
  if [ "$4" = guest ]; then
    setsid sh $d/cmd.sh < $d/in > $d/out 2> $d/err &
  else
    setsid chroot ${CHROOT} /bin/sh ${AGENT_DIR_IN_CHROOT}/$1/cmd.sh < $d/in > $d/out 2> $d/err &
  fi
  echo $! > $d/pid
  wait $!
  rc=$?
  lock; { printf 'EXIT %s %s ' "$1" "$rc"; e64 $d/out; printf ' '; e64 $d/err; printf '\\n'; } >&3; unlock
  rm -rf $d
}
do_read() {
  f=$(d64 "$2"); t=$A/r.$1
  if cat "$f" > $t 2> $t.err; then
    lock; { printf 'READ %s 0 ' "$1"; e64 $t; printf '\\n'; } >&3; unlock
  else
    reply "READ $1 ERR $(e64 $t.err)"
  fi
  rm -f $t $t.err
}
do_write() {
  f=$(d64 "$2"); t=$A/w.$1
  d64 "$3" > $t
  # one write(2) of the whole value, as echo > file does (sysfs attributes take one write)
  if cat $t 2> $t.err > "$f"; then reply "WRITE $1 0"; else reply "WRITE $1 ERR $(e64 $t.err)"; fi
  rm -f $t $t.err
}
while :; do
  if ! read -r op id a b c <&3; then usleep 100000; continue; fi
  case "$op" in
    HELLO) reply "HELLO $id ${AGENT_VERSION}" ;;
    EXEC) do_exec "$id" "$a" "$b" "$c" 3>&3 & ;;
    KILL) [ -f $A/$id/pid ] && kill -s "$a" -- -"$(cat $A/$id/pid)" 2>/dev/null ;;
    READ) do_read "$id" "$a" & ;;
    WRITE) do_write "$id" "$a" "$b" & ;;
    *) ;;
  esac
done
`;
