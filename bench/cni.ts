// ADD and DEL wall time of the bundled CNI plugin (sriov mode, host-local IPAM) next to Debian's host-device +
// host-local on the same simulated node and VF, plus the floor: `node -e 0` and one `ip` call inside the node
// (the node's ip is a Node.js wrapper that answers VF netlink, so every ip call pays a node start-up).
// Run: npm run build && node --import tsx bench/cni.ts [iterations]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestNode, missingCaps, missingCniPlugins } from '../plugins/cni/test-node.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'sriov-lab-cni.mjs');
if (!existsSync(bundle)) {
  console.error(`${bundle} is missing: run npm run build first`);
  process.exit(1);
}
if (missingCaps || missingCniPlugins) {
  console.log(`skipped: bench/cni needs a simulated node and the reference CNI plugins: ${(missingCaps ?? missingCniPlugins)!.detail}`);
  process.exit(0);
}
const n = Number(process.argv[2] ?? 15);
const tn = await startTestNode({ numVfs: 2 });
const env = (cmd: string, netns: string) => ({
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: 'bench',
  CNI_NETNS: netns,
  CNI_IFNAME: 'net1',
  CNI_PATH: '/usr/lib/cni',
});
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p95: q(0.95) };
};
const rows: Array<{ label: string; add: number[]; del: number[] }> = [];

async function measure(label: string, argv: string[], config: Record<string, unknown>): Promise<void> {
  const pod = tn.addPod(`b${rows.length}`);
  const add: number[] = [];
  const del: number[] = [];
  for (let i = 0; i <= n; i++) {
    const a = await tn.node.exec(argv, { input: JSON.stringify(config), env: env('ADD', pod), timeoutMs: 60_000 });
    if (a.exitCode !== 0) throw new Error(`${label} ADD: ${a.stdout}${a.stderr}`);
    const d = await tn.node.exec(argv, { input: JSON.stringify(config), env: env('DEL', pod), timeoutMs: 60_000 });
    if (d.exitCode !== 0) throw new Error(`${label} DEL: ${d.stdout}${d.stderr}`);
    if (i === 0) continue; // warm-up
    add.push(a.durationMs);
    del.push(d.durationMs);
  }
  rows.push({ label, add, del });
  tn.delPod(pod);
}

async function floor(label: string, argv: string[]): Promise<void> {
  const xs: number[] = [];
  for (let i = 0; i <= n; i++) {
    const r = await tn.node.exec(argv, { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new Error(`${label}: ${r.stderr}`);
    if (i > 0) xs.push(r.durationMs);
  }
  rows.push({ label, add: xs, del: [] });
}

try {
  const ipam = { type: 'host-local', subnet: '10.66.0.0/24' };
  await floor('node -e 0 (inside the node)', [process.execPath, '-e', '0']);
  await floor('ip link show lo (node ip wrapper)', ['ip', 'link', 'show', 'lo']);
  await floor('/usr/lib/cni/host-local VERSION (Go start-up)', ['sh', '-c', 'echo "{}" | CNI_COMMAND=VERSION /usr/lib/cni/host-local']);
  await measure("Debian host-device + host-local (pciBusID)", ['/usr/lib/cni/host-device'], { cniVersion: '1.0.0', name: 'bench-hd', type: 'host-device', pciBusID: '0000:01:10.4', ipam });
  await measure('sriov-lab-cni ehost-device + host-local (pciBusID)', [process.execPath, bundle], { cniVersion: '1.0.0', name: 'bench-ehd', type: 'ehost-device', pciBusID: '0000:01:10.4', ipam });
  await measure('sriov-lab-cni sriov + host-local (no VF settings)', [process.execPath, bundle], { cniVersion: '1.0.0', name: 'bench-sriov0', type: 'sriov', deviceID: '0000:01:10.0', ipam });
  await measure('sriov-lab-cni sriov + host-local (vlan, mac, trust, spoofchk)', [process.execPath, bundle], {
    cniVersion: '1.0.0',
    name: 'bench-sriov',
    type: 'sriov',
    deviceID: '0000:01:10.0',
    vlan: 100,
    mac: '02:bb:00:00:00:01',
    trust: 'on',
    spoofchk: 'off',
    ipam,
  });
  console.log(`CNI ADD/DEL wall time in a simulated node, ${n} runs each (after one warm-up), ms`);
  console.log(`${'what'.padEnd(64)} ${'ADD median'.padStart(10)} ${'ADD p95'.padStart(8)} ${'DEL median'.padStart(10)} ${'DEL p95'.padStart(8)}`);
  for (const r of rows) {
    const a = stats(r.add);
    const d = r.del.length ? stats(r.del) : undefined;
    console.log(`${r.label.padEnd(64)} ${a.median.toFixed(0).padStart(10)} ${a.p95.toFixed(0).padStart(8)} ${(d ? d.median.toFixed(0) : '-').padStart(10)} ${(d ? d.p95.toFixed(0) : '-').padStart(8)}`);
  }
} finally {
  await tn.stop();
}
