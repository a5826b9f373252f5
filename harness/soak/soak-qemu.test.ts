// A short seeded soak on qemu: one QEMU guest with igb, the steps of the seed for qemu (none a real kernel or igb
// cannot give), the invariants after each through the node interface, the leak check with every pod deleted, and no
// VM left behind. Skips, saying so, where QEMU with igb, the bundles or the guest cannot be had.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { resolveTopology } from '../../sim/topology/topology.ts';
import { qemuBackend } from '../backends/qemu.ts';
import { ArtefactError, buildGuestArtefacts } from '../qemu/artefacts.ts';
import { stepsLeftOut } from './plan.ts';
import { soak, soakNodes } from './soak.ts';

const root = projectRoot();
const available = await qemuBackend.available();
const missingBundles = ['sriov-lab-node-agent', 'sriov-lab-cni', 'sriov-lab-device-plugin'].filter((b) => !existsSync(join(root, 'dist', `${b}.mjs`)));
/** the guest's kernel and root: built (or taken from the cache) before the clock of the test starts */
async function guestReason(): Promise<string | undefined> {
  try {
    await buildGuestArtefacts({});
    return undefined;
  } catch (e) {
    if (e instanceof ArtefactError) return `the QEMU guest cannot be built here: ${e.message.split('\n')[0]}`;
    throw e;
  }
}

if (!available.ok) {
  t.plan(0, `skipped: the qemu backend cannot run here: ${available.reason}`);
} else if (missingBundles.length) {
  t.plan(0, `skipped: dist bundles missing (${missingBundles.join(', ')}): run npm run build`);
} else {
  const guest = await guestReason();
  if (guest) t.plan(0, `skipped: ${guest}`);
  else {
    t.setTimeout(1_200_000);
    t.test('a seeded soak on qemu: 10 steps, no violation, nothing left behind', async (t) => {
      const nodes = soakNodes(1);
      const topology = resolveTopology({ name: 'soak', nodes });
      const lines: string[] = [];
      // seed 33 on qemu: pod churn with a fast recreate, a driver rebind, a plugin kill, an IPAM failure
      const f = await soak({ backend: 'qemu', seed: 33, iterations: 10, topology, scenarioTopology: { nodes }, scenarioOut: join(t.testdir({}), 'repro.yaml'), maxShrinkTrials: 0, progress: (l) => lines.push(l) });
      t.equal(f.backend, 'qemu');
      t.equal(f.iterations, 10);
      t.same(f.leaks, [], 'no netns, IPAM lease, mount, process or netdev left in the guest, no VM on this machine');
      t.equal(f.violations, 0, f.firstViolation ? `[${f.firstViolation.invariant}] after step ${f.firstViolation.step} (${f.firstViolation.description}): ${f.firstViolation.message}` : 'no violation');
      const ran = Object.values(f.perKind).reduce((a, k) => a + k.ran, 0);
      t.ok(ran >= 7, `${ran} of 10 steps did something`);
      t.ok(f.perKind.podCreate?.ran > 0, 'pods were created on the guest');
      t.notOk(f.perKind.vfFlap, 'no VF link flap drawn on igb');
      t.same(f.leftOut, stepsLeftOut('qemu'), 'the figures name what was left out');
      t.ok(lines.some((l) => /not drawn on qemu: vfFlap: .*igb/.test(l)), 'and the soak said so as it started');
      t.ok(lines.some((l) => /not drawn on qemu: driverRebind \(errno\): .*sysfsFailWrites/.test(l)));
      t.match(f.notCompared, { linkState: /igb/, maxTxRate: /PF link is down/ }, 'the VF settings igb cannot restore are named, not compared');
    });
  }
}
