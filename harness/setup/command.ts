// `sriov-lab setup [--for sim|test|qemu] [--dry-run] [--if-missing]`
import { parse, UsageError } from '../cli/args.ts';
import { SETUP_TARGETS, setup, systemIo, type SetupIo, type SetupTarget } from './setup.ts';

export const SETUP_USAGE =
  'usage: sriov-lab setup [--for sim|test|qemu] [--dry-run] [--if-missing]\n' +
  '  installs with apt-get (as root) the Debian packages this machine lacks for:\n' +
  '    sim (default): the simulator; test: npm test (sim + qemu + chromium, procps, psmisc); qemu: the qemu backend\n' +
  '  --dry-run: print what it would install and the commands, install nothing\n' +
  '  --if-missing: as a step before the tests: silent when nothing is missing; when it cannot install, say so and exit 0\n' +
  '  SRIOV_LAB_NO_INSTALL=1: install nothing, print the command to run instead\n';

export async function setupCommand(args: string[], io: SetupIo = systemIo()): Promise<number> {
  const { values, positionals } = parse(args, {
    for: { type: 'string', default: 'sim' },
    'dry-run': { type: 'boolean' },
    'if-missing': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(SETUP_USAGE.trimEnd());
    return 0;
  }
  if (positionals.length) throw new UsageError(`setup takes no arguments (got ${positionals.join(' ')}); use --for sim|test|qemu`);
  const target = String(values.for);
  if (!isTarget(target)) throw new UsageError(`setup --for ${target}: expected one of ${SETUP_TARGETS.join(', ')}`);
  return setup(target, { dryRun: values['dry-run'] === true, prerequisite: values['if-missing'] ? 'optional' : undefined }, io);
}

function isTarget(s: string): s is SetupTarget {
  return (SETUP_TARGETS as readonly string[]).includes(s);
}

/** The --backend value of `sriov-lab run` arguments (before any "--"), without parsing the rest. */
export function backendArg(args: string[]): string | undefined {
  let backend: string | undefined;
  for (let i = 0; i < args.length && args[i] !== '--'; i++) {
    if (args[i] === '--backend') backend = args[i + 1];
    else if (args[i].startsWith('--backend=')) backend = args[i].slice('--backend='.length);
  }
  return backend;
}
