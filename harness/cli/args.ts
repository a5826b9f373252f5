// Argument parsing shared by the sub-commands: util.parseArgs plus the "-- CMD…" tail.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  const dd = args.indexOf('--');
  const head = dd >= 0 ? args.slice(0, dd) : args;
  const tail = dd >= 0 ? args.slice(dd + 1) : [];
  try {
    const r = parseArgs({ args: head, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals, command: tail };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
