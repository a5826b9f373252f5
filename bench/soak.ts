// The randomized fault soak on sim (sriov-lab soak): steps/s, steps per kind, wall time, violations.
//   node --import tsx bench/soak.ts [--iterations N] [--seed N] [--nodes N] [--json FILE]
import { simBackend } from '../harness/backends/sim.ts';
import { soakCommand } from '../harness/soak/command.ts';

const available = await simBackend.available();
if (!available.ok) {
  console.log(`skipped: the sim backend cannot run here: ${available.reason}`);
} else {
  const args = process.argv.slice(2);
  // a bench run is shorter than the command's default unless asked
  process.exitCode = await soakCommand(args.includes('--iterations') ? args : ['--iterations', '200', ...args]);
}
