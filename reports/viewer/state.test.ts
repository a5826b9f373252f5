import t from 'tap';
import { sampleRun } from '../fixtures/sample-run.ts';
import { allResources, allTags, EMPTY_STATE, formatHash, matches, parseHash, type ViewState } from './state.ts';

t.test('hash round trip', async (t) => {
  const states: ViewState[] = [
    EMPTY_STATE,
    { status: 'failed', q: 'restart & more', tag: 'smoke', resource: 'intel.com/sriov_net_a', open: ['a.yaml#x y', 'b.yaml#z'] },
  ];
  for (const s of states) t.same(parseHash(formatHash(s)), s);
  t.equal(formatHash(EMPTY_STATE), '');
  t.equal(parseHash('#status=bogus').status, 'all', 'unknown status falls back to all');
});

t.test('filtering', async (t) => {
  const run = sampleRun();
  const names = (st: Partial<ViewState>): string[] => run.scenarios.filter((s) => matches(s, { ...EMPTY_STATE, ...st })).map((s) => s.name);
  t.same(names({ status: 'failed' }), ['device plugin restart keeps allocatable']);
  t.same(names({ q: 'RESTART' }), ['kubelet restart keeps assignments', 'device plugin restart keeps allocatable']);
  t.same(names({ q: 'vfio/rebind' }), ['VF rebinds to vfio-pci'], 'matches the file too');
  t.same(names({ tag: 'smoke' }), ['pod gets a VF']);
  t.same(names({ resource: 'intel.com/sriov_dpdk' }), ['VF rebinds to vfio-pci']);
  t.same(names({ status: 'passed', q: 'restart' }), ['kubelet restart keeps assignments']);
  t.same(allTags(run.scenarios), ['allocate', 'dpdk', 'kubelet', 'regression', 'restart', 'smoke', 'vfio']);
  t.same(allResources(run.scenarios), ['intel.com/sriov_dpdk', 'intel.com/sriov_net_a']);
});
