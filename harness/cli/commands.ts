// The sub-command table. Each command parses its own arguments and returns an exit code.
import { doctor } from './doctor.ts';
import { nodeShell, sysfsServe } from './node-commands.ts';
import { reportCommand } from '../../reports/render.ts';
import { runCommand, RUN_USAGE } from '../runner/command.ts';
import { registerBuiltinBackends } from '../backends/index.ts';
import { demoCommand } from '../demo.ts';
import { clusterCommands } from './cluster-commands.ts';

export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

export const commands = new Map<string, Command>();

commands.set('doctor', {
  summary: 'report what this machine offers (root, FUSE, namespaces, CNI plugins, QEMU, KVM, Chromium)',
  run: doctor,
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
  run(args) {
    registerBuiltinBackends();
    return runCommand(args);
  },
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

export function usage(): string {
  const lines = ['usage: sriov-lab <command> [options]', '', 'commands:'];
  const width = Math.max(...[...commands.keys()].map((k) => k.length));
  for (const [name, c] of [...commands.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  }
  return `${lines.join('\n')}\n`;
}
