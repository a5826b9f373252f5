// How long a new VF's link takes to come up on a real kernel: in a QEMU guest (igb, the 82576 QEMU emulates, VFs on
// igbvf), `sriov_numvfs` 0 → N is written with the PF up and its carrier on, and the guest polls every 10 ms
// (/proc/uptime, 10 ms resolution) the PF's carrier and, per VF, when its netdev appears and — after `ip link set up`,
// since a down netdev has no readable carrier — when its carrier comes on. Also the same for N → 0 (the PF's carrier
// again). Prints the figures per round and their median; the NIC catalog's `sriovCarrier` figures come from here.
// virtio has no VFs; no other VF driver runs in QEMU.
// Run: node --import tsx bench/vf-carrier.ts [--vfs N] [--rounds R]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { buildGuestArtefacts } from '../harness/qemu/artefacts.ts';
import { startVm } from '../harness/qemu/vm.ts';
import { caps } from '../sim/caps.ts';

const { values } = parseArgs({ options: { vfs: { type: 'string' }, rounds: { type: 'string' } } });
const numVfs = Number(values.vfs ?? 2);
const rounds = Number(values.rounds ?? 3);
const q = caps.qemu();
if (!q.ok) {
  console.log(`skipped: bench/vf-carrier needs QEMU with igb: ${q.detail}`);
  process.exit(0);
}

/** one round in the guest: "<uptime s> <event>" lines */
const roundScript = (pf: string, ifname: string, n: number): string => String.raw`
set -u
now() { cut -d' ' -f1 /proc/uptime; }
pfc() { cat /sys/class/net/${ifname}/carrier 2>/dev/null || echo -; }
i=0; until [ "$(pfc)" = 1 ]; do usleep 10000; i=$((i+1)); [ $i -lt 3000 ] || { echo "$(now) timeout pf-carrier-before"; exit 1; }; done
echo "$(now) write ${n}"
echo ${n} > /sys/bus/pci/devices/${pf}/sriov_numvfs
echo "$(now) written"
last=; done_vfs=; seen_vfs=; i=0
while [ $i -lt 3000 ]; do
  t=$(now); c=$(pfc)
  [ "$c" = "$last" ] || { echo "$t pf-carrier $c"; last=$c; }
  all=1
  k=0; while [ $k -lt ${n} ]; do
    case " $done_vfs " in *" $k "*) k=$((k+1)); continue;; esac
    all=0
    nd=$(ls /sys/bus/pci/devices/${pf}/virtfn$k/net 2>/dev/null | head -n1)
    if [ -n "$nd" ]; then
      case " $seen_vfs " in *" $k "*) ;; *) echo "$t vf$k netdev"; seen_vfs="$seen_vfs $k"; ip link set "$nd" up 2>/dev/null;; esac
      if [ "$(cat /sys/class/net/$nd/carrier 2>/dev/null)" = 1 ]; then echo "$t vf$k carrier 1"; done_vfs="$done_vfs $k"; fi
    fi
    k=$((k+1))
  done
  [ $all = 1 ] && [ "$c" = 1 ] && break
  usleep 10000; i=$((i+1))
done
echo "$(now) end"
echo "$(now) write 0"
echo 0 > /sys/bus/pci/devices/${pf}/sriov_numvfs
echo "$(now) written"
last=; i=0
while [ $i -lt 3000 ]; do
  t=$(now); c=$(pfc)
  [ "$c" = "$last" ] || { echo "$t pf-carrier $c"; last=$c; }
  [ "$c" = 1 ] && [ $i -gt 0 ] && break
  usleep 10000; i=$((i+1))
done
echo "$(now) end"
`;

interface Round {
  enableWriteMs: number;
  pfCarrierOffAfterEnable: boolean;
  pfCarrierBackMs?: number;
  vfNetdevMs: number[];
  vfCarrierMs: number[];
  disableWriteMs: number;
  pfCarrierBackAfterDisableMs?: number;
}

function parseRound(out: string): Round {
  const ev = out
    .trim()
    .split('\n')
    .map((l) => {
      const [t, ...rest] = l.trim().split(' ');
      return { t: Number(t) * 1000, e: rest.join(' ') };
    });
  const at = (e: string, from = 0): number => {
    const i = ev.findIndex((x, j) => j >= from && x.e === e);
    if (i < 0) throw new Error(`no "${e}" in the guest's output:\n${out}`);
    return i;
  };
  const w1 = at('write ' + String(numVfs));
  const wr1 = at('written', w1);
  const end1 = at('end', wr1);
  const w0 = at('write 0', end1);
  const wr0 = at('written', w0);
  const t0 = ev[w1].t;
  const first = ev.slice(wr1, end1);
  const off = first.find((x) => x.e === 'pf-carrier 0');
  const back = off ? first.find((x) => x.e === 'pf-carrier 1' && x.t >= off.t) : undefined;
  const second = ev.slice(wr0);
  const off0 = second.findIndex((x) => x.e === 'pf-carrier 0');
  const back0 = off0 >= 0 ? second.slice(off0).find((x) => x.e === 'pf-carrier 1') : undefined;
  const vf = (what: string) => Array.from({ length: numVfs }, (_, k) => (first.find((x) => x.e === `vf${k} ${what}`)?.t ?? NaN) - t0);
  return {
    enableWriteMs: ev[wr1].t - t0,
    pfCarrierOffAfterEnable: off !== undefined,
    ...(back ? { pfCarrierBackMs: back.t - t0 } : {}),
    vfNetdevMs: vf('netdev'),
    vfCarrierMs: vf('carrier 1'),
    disableWriteMs: ev[wr0].t - ev[w0].t,
    ...(back0 ? { pfCarrierBackAfterDisableMs: back0.t - ev[w0].t } : {}),
  };
}

const artefacts = await buildGuestArtefacts();
await using vm = await startVm({ name: 'bench-vf-carrier', artefacts, nics: [{ kind: 'igb', mac: '02:00:00:be:00:01' }] });
const nic = vm.nics[0];
await vm.sh(`ip link set ${nic.ifname} up`, { where: 'guest' });
const results: Round[] = [];
for (let r = 0; r < rounds; r++) {
  const res = await vm.sh(roundScript(nic.pciAddr, nic.ifname, numVfs), { where: 'guest', timeoutMs: 120_000 });
  if (res.exitCode !== 0) throw new Error(`round ${r + 1} failed (exit ${res.exitCode}): ${res.stdout}${res.stderr}`);
  results.push(parseRound(res.stdout));
  process.stderr.write(`round ${r + 1}/${rounds} done\n`);
}
await vm.stop();

const ms = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : `${Math.round(x)} ms`);
const median = (xs: number[]): number | undefined => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : undefined;
};
console.log(`bench/vf-carrier (QEMU igb 82576, VF driver igbvf, ${vm.accel}, ${numVfs} VFs, ${rounds} rounds, 10 ms polling; load average ${loadavg()[0].toFixed(1)})`);
console.log('  times from the start of the write to sriov_numvfs');
results.forEach((r, i) => {
  console.log(`  round ${i + 1}: write returned ${ms(r.enableWriteMs)}; PF carrier ${r.pfCarrierOffAfterEnable ? `off, back at ${ms(r.pfCarrierBackMs)}` : 'stayed on'}; VF netdevs at ${r.vfNetdevMs.map(ms).join(', ')}; VF carrier (after ip link set up) at ${r.vfCarrierMs.map(ms).join(', ')}; N → 0: write ${ms(r.disableWriteMs)}, PF carrier back at ${ms(r.pfCarrierBackAfterDisableMs)}`);
});
console.log(`  median: PF carrier back after 0 → ${numVfs}   ${ms(median(results.map((r) => r.pfCarrierBackMs ?? NaN)))}  (off in ${results.filter((r) => r.pfCarrierOffAfterEnable).length}/${rounds} rounds)`);
console.log(`  median: VF netdev appears                ${ms(median(results.flatMap((r) => r.vfNetdevMs)))}`);
console.log(`  median: VF carrier on (netdev set up)    ${ms(median(results.flatMap((r) => r.vfCarrierMs)))}`);
console.log(`  median: VF carrier on after its netdev   ${ms(median(results.flatMap((r) => r.vfCarrierMs.map((c, k) => c - r.vfNetdevMs[k]))))}`);
console.log(`  median: PF carrier back after ${numVfs} → 0   ${ms(median(results.map((r) => r.pfCarrierBackAfterDisableMs ?? NaN)))}`);
