// sriov-lab command-line entry point: a table of sub-commands.
import { commands, usage } from './commands.ts';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  // two-word commands ("node shell", "sysfs serve") are looked up first
  const two = rest.length > 0 ? commands.get(`${name} ${rest[0]}`) : undefined;
  const cmd = two ?? commands.get(name);
  if (!cmd) {
    process.stderr.write(`sriov-lab: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return cmd.run(two ? rest.slice(1) : rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (['UsageError', 'TopologyError', 'ScenarioValidationError', 'ManifestError'].includes((err as Error).name)) {
      process.stderr.write(`sriov-lab: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    const e = err as { shortMessage?: string; message?: string };
    process.stderr.write(`sriov-lab: ${e.shortMessage ?? e.message ?? String(err)}\n`);
    if (process.env.SRIOV_LAB_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exitCode = 1;
  },
);
