// sriov-lab command-line entry point: a table of sub-commands.
import { asksForHelp, commandHelp, findCommand, usage } from './commands.ts';

// Output must never stop a cleanup: when the reader of a pipe is gone (`sriov-lab run … | tee log`, and Ctrl-C kills
// tee with us), every write fails with EPIPE, and an unhandled 'error' on stdout ended the process before the
// interrupted run had removed its nodes' namespaces. What cannot be written is dropped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === 'help') {
    // `sriov-lab help CMD`: the command's help, as `sriov-lab CMD --help`
    if (rest.length === 0) {
      process.stdout.write(usage());
      return 0;
    }
    const found = findCommand(rest);
    if (!found) {
      process.stderr.write(`sriov-lab: unknown command "${rest.join(' ')}"\n\n${usage()}`);
      return 2;
    }
    process.stdout.write(await commandHelp(found.name, found.cmd));
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`sriov-lab: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // every command has --help, whether or not its own parser knows the option
  if (asksForHelp(found.rest)) {
    process.stdout.write(await commandHelp(found.name, found.cmd));
    return 0;
  }
  return found.cmd.run(found.rest);
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
