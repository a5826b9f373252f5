// The sub-command table. Each command parses its own arguments and returns an exit code.
import { doctor } from './doctor.ts';

export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

export const commands = new Map<string, Command>();

commands.set('doctor', {
  summary: 'report what this machine offers (root, FUSE, namespaces, CNI plugins, QEMU, KVM, Chromium)',
  run: doctor,
});

commands.set('demo', {
  summary: 'the tutorial, step by step (npm start)',
  async run() {
    process.stdout.write('sriov-lab demo: not yet implemented (the scenario runner has not landed yet)\n');
    return 0;
  },
});

export function usage(): string {
  const lines = ['usage: sriov-lab <command> [options]', '', 'commands:'];
  const width = Math.max(...[...commands.keys()].map((k) => k.length));
  for (const [name, c] of [...commands.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  }
  return `${lines.join('\n')}\n`;
}
