// Test helper: the `sriov-lab vm …` sub-commands without the CLI's table (harness/cli is not ours to edit).
import { vmBuild, vmDown, vmExec, vmList, vmUp } from '../vm-cli.ts';

const table: Record<string, (args: string[]) => Promise<number>> = { build: vmBuild, up: vmUp, exec: vmExec, down: vmDown, list: () => vmList() };
const [cmd, ...rest] = process.argv.slice(2);
const f = table[cmd];
if (!f) {
  process.stderr.write(`unknown vm command ${cmd}\n`);
  process.exitCode = 2;
} else {
  process.exitCode = await f(rest);
}
