// CNI errors: the spec's well-known codes, plus this plugin's own (100 and up, as the spec reserves 1–99).
export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  io: 5,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  limitedConnectivity: 51,
  // plugin-specific
  failed: 100,
  checkFailed: 101,
  vfBusy: 102,
  commandFailed: 103,
  delegateFailed: 104,
  injected: 199,
} as const;

export type CniCode = (typeof CNI_CODES)[keyof typeof CNI_CODES] | number;

/** An error the plugin reports to the runtime as CNI error JSON on stdout. */
export class CniError extends Error {
  constructor(
    readonly code: CniCode,
    readonly msg: string,
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    super(details ? `${msg}: ${details}` : msg, options);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}

/** A command (ip, nsenter, a delegated plugin) that failed; carries what a user needs to see why. */
export class CommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly durationMs: number,
    readonly stdout = '',
  ) {
    super(`${command.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim() || stdout.trim() || 'no output'}`);
    this.name = 'CommandError';
  }
}

export function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof CommandError) return new CniError(CNI_CODES.commandFailed, `command failed: ${e.command.join(' ')}`, e.stderr.trim() || `exit ${e.exitCode}`, { cause: e });
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') return new CniError(CNI_CODES.io, `I/O failure (${err.syscall} ${err.code})`, err.message, { cause: e });
  return new CniError(CNI_CODES.failed, 'internal error', (err && err.stack) || String(e), { cause: e });
}
