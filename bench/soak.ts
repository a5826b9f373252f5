// The randomized fault soak (sriov-lab soak), on sim or with --backend qemu on a QEMU guest: steps/s, steps per
// kind, wall time, violations.
//   node --import tsx bench/soak.ts [--backend sim|qemu] [--iterations N] [--seed N] [--nodes N] [--json FILE]
import { qemuBackend } from '../harness/backends/qemu.ts';
import { simBackend } from '../harness/backends/sim.ts';
import { soakCommand } from '../harness/soak/command.ts';

const args = process.argv.slice(2);
const b = args.indexOf('--backend');
const backend = b >= 0 && args[b + 1] === 'qemu' ? qemuBackend : simBackend;
const available = await backend.available();
if (!available.ok) {
  console.log(`skipped: the ${backend.name} backend cannot run here: ${available.reason}`);
} else {
  // a bench run is shorter than the command's default unless asked (a qemu step takes seconds)
  process.exitCode = await soakCommand(args.includes('--iterations') ? args : ['--iterations', backend === qemuBackend ? '50' : '200', ...args]);
}
