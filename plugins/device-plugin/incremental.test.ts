// Incremental re-discovery (DeviceTable.update) against a full discovery after random sysfs changes, and the start-up
// order: a resource registers while discovery is still running, and its first ListAndWatch list is the whole pool.
import t from 'tap';
import fc from 'fast-check';
import { deepStrictEqual, equal } from 'node:assert/strict';
import { join } from 'node:path';
import { FakeKubelet, SimHost, shortTmp } from './test-fixtures.ts';
import { DeviceTable, discoverDevices, type NetdevAttrCache } from './sysfs.ts';
import { parseConfig, defaultConfigJson } from './config.ts';
import { startDevicePlugin } from './plugin.ts';
import { memoryLogger } from './log.ts';
import { fuzzParams } from '../../sim/fuzz.ts';

const NICS = [
  { model: 'intel-xl710', pciAddr: '0000:03:00.0', ifname: 'ens1f0', numVfs: 3, numaNode: 0 },
  { model: 'intel-82599', pciAddr: '0000:86:00.0', ifname: 'ens2f0', numVfs: 2, numaNode: 1, vfDriver: 'vfio-pci' as const },
  { model: 'intel-i350', pciAddr: '0000:05:00.0', ifname: 'eno1' },
  { model: 'virtio-net', pciAddr: '0000:00:04.0', ifname: 'enp0s4' },
];
const PFS = ['ens1f0', 'ens2f0'];

type Step =
  | { op: 'numvfs'; pf: number; n: number }
  | { op: 'unbind'; k: number }
  | { op: 'rebind'; k: number }
  | { op: 'away'; k: number; present: boolean }
  | { op: 'rename'; k: number; suffix: number }
  | { op: 'route'; which: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('numvfs' as const), pf: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant('unbind' as const), k: fc.nat() }),
  fc.record({ op: fc.constant('rebind' as const), k: fc.nat() }),
  fc.record({ op: fc.constant('away' as const), k: fc.nat(), present: fc.boolean() }),
  fc.record({ op: fc.constant('rename' as const), k: fc.nat(), suffix: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('route' as const), which: fc.integer({ min: 0, max: 2 }) }),
);

/**
 * Applies a step to the model; a change the model refuses (EBUSY, ENODEV…) is simply not made. A VF count change
 * goes through 0 and is observed there (`observe`): VFs removed and created again between two polls at the same
 * addresses, bindings and names change nothing the structure parts see (as for a full re-discovery on a key change).
 */
function apply(h: SimHost, s: Step, original: Map<string, string>, observe: () => void): void {
  const netdevs = h.model.netdevs();
  const pick = <T>(xs: T[], k: number): T | undefined => (xs.length ? xs[k % xs.length] : undefined);
  try {
    switch (s.op) {
      case 'numvfs': {
        const path = `/sys/class/net/${PFS[s.pf]}/device/sriov_numvfs`;
        if (h.model.read(path) !== '0' && s.n > 0) {
          h.model.write(path, '0');
          observe();
        }
        h.model.write(path, String(s.n));
        break;
      }
      case 'unbind': {
        const addr = pick([...original.keys()], s.k);
        if (addr) h.model.write(`/sys/bus/pci/drivers/${original.get(addr)}/unbind`, addr);
        break;
      }
      case 'rebind': {
        const addr = pick([...original.keys()], s.k);
        if (addr) h.model.write(`/sys/bus/pci/drivers/${original.get(addr)}/bind`, addr);
        break;
      }
      case 'away': {
        const nd = pick(netdevs, s.k);
        if (nd) h.model.updateNetdev(nd.pciAddr, { present: s.present });
        break;
      }
      case 'rename': {
        const nd = pick(netdevs, s.k);
        if (nd) h.model.updateNetdev(nd.pciAddr, { name: `${nd.netdev.name.replace(/x\d$/, '')}x${s.suffix}` });
        break;
      }
      case 'route':
        h.setDefaultRoutes([[], ['eno1'], ['enp0s4']][s.which]);
        break;
    }
  } catch {
    // refused by the model: no change
  }
}

t.test('incremental re-discovery equals a full discovery after random changes', async (t) => {
  let checked = 0;
  let incremental = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
      const cleanups: Array<() => void> = [];
      try {
        const h = new SimHost({ teardown: (f) => void cleanups.push(f as () => void) }, NICS);
        // drivers as first bound, for unbind/bind steps (VFs come and go with numvfs: only the stable functions)
        const original = new Map<string, string>();
        for (const d of discoverDevices(h.paths).devices) if (d.driver && !d.isVf) original.set(d.pciAddr, d.driver);
        const table = new DeviceTable(h.paths, new Map());
        const fullCache: NetdevAttrCache = new Map();
        table.update();
        discoverDevices(h.paths, fullCache);
        const observe = (s: Step) => {
          h.refresh();
          const before = table.reads;
          const upd = table.update();
          const want = discoverDevices(h.paths, fullCache);
          // node's assert throws, so that fast-check shrinks a failure to its smallest list of steps
          deepStrictEqual(table.result(), want, `after ${JSON.stringify(s)}`);
          if (!upd.full) {
            equal(table.reads - before, upd.reread.size, 'reads only what it names');
            incremental++;
          }
          if (!upd.changed) equal(table.reads, before, 'nothing changed: nothing read');
          checked++;
        };
        for (const s of steps) {
          apply(h, s, original, () => observe(s));
          observe(s);
        }
      } finally {
        for (const c of cleanups.reverse()) c();
      }
    }),
    fuzzParams(25),
  );
  t.ok(incremental > checked / 2, `${checked} steps equal a full discovery, ${incremental} of them incremental`);
});

t.test('a sriov_numvfs change re-reads that PF and its VFs only', async (t) => {
  const h = new SimHost(t, NICS);
  const table = new DeviceTable(h.paths);
  table.update();
  t.same(table.sriovPfs().sort(), ['0000:03:00.0', '0000:05:00.0', '0000:86:00.0'], 'with or without VFs');
  t.equal(table.numVfsChanged(), false);
  h.model.write('/sys/class/net/ens1f0/device/sriov_numvfs', '0');
  h.refresh();
  t.equal(table.numVfsChanged(), true, 'the cheap check sees it');
  const upd = table.update();
  t.same([...upd.reread], ['0000:03:00.0'], 'the PF, now without VFs');
  t.equal(upd.changed, true);
  t.equal(table.numVfsChanged(), false);
  h.model.write('/sys/class/net/ens1f0/device/sriov_numvfs', '2');
  h.refresh();
  const up2 = table.update();
  t.same([...up2.reread].sort(), ['0000:03:00.0', '0000:03:02.0', '0000:03:02.1'], 'the PF and its two new VFs');
  t.same(table.result(), discoverDevices(h.paths));
});

t.test('a resource registers while discovery is still running; its first list is the whole pool', async (t) => {
  const h = new SimHost(t, [
    { model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens1f0', numVfs: 64, numaNode: 0 },
    { model: 'intel-e810', pciAddr: '0000:3b:00.0', ifname: 'ens2f0', numVfs: 64, numaNode: 1 },
  ]);
  h.allUp();
  h.refresh();
  const dir = shortTmp(t, 'dpr');
  const kubelet = new FakeKubelet(join(dir, 'k'));
  await kubelet.start();
  t.teardown(() => kubelet.stop());
  const RES = 'intel.com/sriov_netdevice';
  let heldSteps = 0;
  let stepsAfterRegistration = 0;
  let firstUpdate: number | null = null;
  kubelet.waitFor('a list', () => (kubelet.plugins.get(RES)?.updates ?? 0) > 0, 20000).then(
    () => (firstUpdate = kubelet.allocatable(RES).length),
    () => undefined,
  );
  const plugin = await startDevicePlugin({
    config: parseConfig(defaultConfigJson),
    paths: h.paths,
    kubeletDir: join(dir, 'k'),
    devinfoDir: join(dir, 'di'),
    logger: memoryLogger(),
    // hold discovery back until the kubelet has the registration: a plugin that registered only after discovery
    // would never get there (the wait would time out)
    discoveryStep: async () => {
      if (kubelet.registerCalls.length > 0 && kubelet.plugins.has(RES)) {
        stepsAfterRegistration++;
        return;
      }
      heldSteps++;
      await kubelet.waitFor('Register', () => kubelet.plugins.has(RES), 10000);
    },
  });
  t.teardown(() => plugin.stop());
  // the plugin waits for its first registration before it reads further devices, so the hold may never be needed
  t.ok(heldSteps > 0 || stepsAfterRegistration > 0, `registered while discovery went on (${heldSteps} steps held, ${stepsAfterRegistration} after)`);
  t.same(kubelet.registerCalls.map((r) => r.resource_name), [RES], 'only the resource with devices registered');
  await kubelet.waitFor('128 devices', () => kubelet.allocatable(RES).length === 128, 10000);
  t.equal(firstUpdate, 128, 'the first ListAndWatch message already has every device');
  t.equal(kubelet.plugins.get(RES)!.updates, 1, 'one message: no empty or partial list before it');
});
