// The sub-command table. Each command parses its own arguments and returns an exit code.
import { doctor } from './doctor.ts';
import { nodeShell, sysfsServe } from './node-commands.ts';
import { reportCommand } from '../../reports/render.ts';
import { runCommand, RUN_USAGE } from '../runner/command.ts';
import { fidelityCommand, FIDELITY_USAGE } from '../fidelity/command.ts';
import { registerBuiltinBackends } from '../backends/index.ts';
import { demoCommand } from '../demo.ts';
import { clusterCommands } from './cluster-commands.ts';
import { vmBuild, vmUp, vmExec, vmDown, vmList } from '../qemu/vm-cli.ts';
import { hostRestore, hostSnapshot } from '../host/cli.ts';
import { backendArg, setupCommand } from '../setup/command.ts';
import { ensureSystemPackages } from '../setup/setup.ts';
import { soakCommand, SOAK_USAGE } from '../soak/command.ts';
import { imageBuildCommand, IMAGE_BUILD_USAGE } from '../images/command.ts';

export interface Command {
  summary: string;
  /** the command's own usage text for --help; default: its summary */
  usage?: string;
  run(args: string[]): Promise<number>;
}

export const commands = new Map<string, Command>();

commands.set('doctor', {
  summary: 'report what this machine offers (root, FUSE, namespaces, CNI plugins, QEMU, KVM, Chromium)',
  run: doctor,
});

commands.set('setup', {
  summary: 'install with apt-get the Debian packages this machine lacks: [--for sim|test|qemu] [--dry-run] [--if-missing]',
  run: setupCommand,
});

commands.set('node shell', {
  summary: 'run CMD (default: bash) inside a fresh simulated node: [--topology FILE] [--node NAME] -- CMD…',
  run: nodeShell,
});

commands.set('sysfs serve', {
  summary: 'serve only a node\'s FUSE sysfs until SIGTERM: --topology FILE --mount DIR [--node NAME]',
  run: sysfsServe,
});

commands.set('run', {
  summary: `run scenario files: ${RUN_USAGE.split('\n')[0].replace(/^usage: sriov-lab run /, '')}`,
  usage: RUN_USAGE,
  async run(args) {
    registerBuiltinBackends();
    if (backendArg(args) === 'qemu') {
      const code = await ensureSystemPackages('qemu');
      if (code !== 0) return code;
    }
    return runCommand(args);
  },
});

commands.set('fidelity', {
  summary: `run scenarios on two backends and print every difference in what they observed: ${FIDELITY_USAGE.split('\n')[0].replace(/^usage: sriov-lab fidelity /, '')}`,
  usage: FIDELITY_USAGE,
  run(args) {
    registerBuiltinBackends();
    return fidelityCommand(args);
  },
});

commands.set('soak', {
  summary: 'a randomized fault soak on sim from a seed; a violation is shrunk to a scenario file: [--seed N] [--iterations N] [--nodes N|--topology F] [--json F]',
  usage: SOAK_USAGE,
  run: soakCommand,
});

commands.set('report', {
  summary: 're-render a saved run: report RUN.json [--html F] [--junit F] [--markdown F] [--json F] [--quiet]',
  run: (args) => reportCommand(args),
});

commands.set('demo', {
  summary: 'the tutorial, step by step, on the simulator; writes an HTML report (npm start): [--seed N] [--html F]',
  run: demoCommand,
});

for (const [name, c] of clusterCommands) commands.set(name, c);

commands.set('vm build', { summary: 'build (or find in the cache) the guest kernel + initramfs from Debian packages: [--force] [--kernel PKG] [--quiet]', run: vmBuild });
commands.set('vm up', { summary: 'boot a VM in the background: NAME [--topology FILE --node NODE | --igb N --virtio N] [--memory MiB] [--cpus N] [--accel tcg|kvm]', run: vmUp });
commands.set('vm exec', { summary: "run a command in a running VM (the node's view; --guest: the initramfs): NAME [--cwd DIR] [--timeout MS] [-n] -- CMD…", run: vmExec });
commands.set('vm down', { summary: 'stop VMs started with vm up: NAME… | --all', run: vmDown });
commands.set('vm list', { summary: 'list the VMs started with vm up', run: () => vmList() });
commands.set('image build', {
  summary: 'build the container images of the bundled device plugin and CNI (Dockerfile): [--tag T] [--target device-plugin|cni] [--local-base|--pull-base]',
  usage: IMAGE_BUILD_USAGE,
  run: imageBuildCommand,
});
commands.set('host restore', { summary: 'undo what a crashed or killed host-backend run changed, from its journal: [--journal FILE]', run: hostRestore });
commands.set('host snapshot', { summary: "print PFs' sysfs/netlink state as JSON (compare before/after): --pf NAME|PCI [--pf …]", run: hostSnapshot });

/** a command's --help text: its own usage, or its name and summary */
export function commandHelp(name: string, c: Command): string {
  const text = c.usage ?? `usage: sriov-lab ${name} — ${c.summary}`;
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** --help or -h among a command's own arguments (not after `--`, where they belong to the command it runs) */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** the command an argument list names (two-word commands first) and the arguments left */
export function findCommand(argv: readonly string[]): { name: string; cmd: Command; rest: string[] } | undefined {
  const [first, second, ...more] = argv;
  if (first === undefined) return undefined;
  const two = second !== undefined ? commands.get(`${first} ${second}`) : undefined;
  if (two) return { name: `${first} ${second}`, cmd: two, rest: more };
  const one = commands.get(first);
  return one ? { name: first, cmd: one, rest: argv.slice(1) } : undefined;
}

export function usage(): string {
  const lines = ['usage: sriov-lab <command> [options]', '', 'commands:'];
  const width = Math.max(...[...commands.keys()].map((k) => k.length));
  for (const [name, c] of [...commands.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  }
  return `${lines.join('\n')}\n`;
}
