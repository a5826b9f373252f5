// IPAM delegation as the CNI spec describes it: find the plugin named by ipam.type in CNI_PATH, run it with the
// same CNI_* environment and the same network configuration on stdin, read its result or error.
// A delegate that does not speak the configuration's version (Debian's host-local stops at 1.0.0) is asked for
// its versions and run again with the newest one both sides know.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CNI_CODES, CniError } from './errors.ts';
import type { Runner } from './exec.ts';
import { negotiateVersion, parseResult, type CniResult, type CniVersion } from './version.ts';

export interface DelegateCall {
  type: string;
  command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC';
  /** the network configuration to send (normally exactly what the plugin received) */
  config: Record<string, unknown>;
  cniVersion: CniVersion;
  /** CNI_* for the delegate; defaults to the plugin's own environment with CNI_COMMAND replaced */
  env: NodeJS.ProcessEnv;
  cniPath: string[];
}

export function findPlugin(type: string, cniPath: readonly string[]): string | undefined {
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  return undefined;
}

function delegateError(type: string, command: string, stdout: string, stderr: string, exitCode: number | null): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (typeof e.code === 'number') return new CniError(e.code, `IPAM plugin "${type}" ${command} failed: ${e.msg ?? ''}`.trim(), e.details ?? '');
  } catch {
    // not CNI error JSON
  }
  return new CniError(CNI_CODES.delegateFailed, `IPAM plugin "${type}" ${command} failed (exit ${exitCode})`, (stderr || stdout).trim());
}

export function execDelegate(runner: Runner, call: DelegateCall): CniResult | undefined {
  const bin = findPlugin(call.type, call.cniPath);
  if (!bin) {
    throw new CniError(CNI_CODES.failed, `IPAM plugin "${call.type}" not found`, `looked in CNI_PATH ${call.cniPath.length ? call.cniPath.join(':') : '(empty)'}; install it or fix ipam.type`);
  }
  const env = { ...call.env, CNI_COMMAND: call.command, CNI_PATH: call.cniPath.join(':') };
  const attempt = (config: Record<string, unknown>) => runner.run([bin], { input: JSON.stringify(config), env, allowFail: true });
  let r = attempt(call.config);
  if (r.exitCode !== 0) {
    let err = delegateError(call.type, call.command, r.stdout, r.stderr, r.exitCode);
    if (err.code === CNI_CODES.incompatibleVersion) {
      const v = runner.run([bin], { input: JSON.stringify({ cniVersion: call.cniVersion }), env: { ...env, CNI_COMMAND: 'VERSION' }, allowFail: true });
      let theirs: string[] = [];
      try {
        theirs = (JSON.parse(v.stdout) as { supportedVersions?: string[] }).supportedVersions ?? [];
      } catch {
        // keep the first error
      }
      const common = negotiateVersion(call.cniVersion, theirs);
      if (common && common !== call.cniVersion) {
        r = attempt({ ...call.config, cniVersion: common });
        if (r.exitCode !== 0) err = delegateError(call.type, call.command, r.stdout, r.stderr, r.exitCode);
      }
    }
    if (r.exitCode !== 0) throw err;
  }
  if (call.command !== 'ADD') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch (e) {
    throw new CniError(CNI_CODES.decode, `IPAM plugin "${call.type}" returned a result that is not JSON`, (e as Error).message);
  }
  return parseResult(parsed, `IPAM plugin "${call.type}" result`);
}

/** Whether the delegate speaks a version (asks it with VERSION). */
export function delegateSupports(runner: Runner, type: string, cniPath: readonly string[], version: string, env: NodeJS.ProcessEnv): boolean {
  const bin = findPlugin(type, cniPath);
  if (!bin) return false;
  const r = runner.run([bin], { input: JSON.stringify({ cniVersion: version }), env: { ...env, CNI_COMMAND: 'VERSION' }, allowFail: true });
  try {
    return ((JSON.parse(r.stdout) as { supportedVersions?: string[] }).supportedVersions ?? []).includes(version);
  } catch {
    return false;
  }
}
