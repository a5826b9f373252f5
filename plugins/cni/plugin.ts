// The plugin as a function: environment + stdin in, stdout + exit code out. One command table; the config is
// validated before any command touches the machine.
import { parseEnv, parseNetConf, type CniCommand } from './config.ts';
import { Cache, DEFAULT_CACHE_DIR } from './cache.ts';
import { CNI_CODES, CniError, asCniError } from './errors.ts';
import { Runner } from './exec.ts';
import { Logger } from './log.ts';
import { Sysfs } from './sysfs.ts';
import { step } from './timing.ts';
import { cmdAdd, cmdCheck, cmdDel, cmdGc, cmdStatus, type Ctx } from './attach.ts';
import { convertResult, LATEST_VERSION, SUPPORTED_VERSIONS, isSupportedVersion, type CniResult } from './version.ts';

export interface PluginIo {
  env: NodeJS.ProcessEnv;
  stdin: string;
}

export interface PluginOutput {
  stdout: string;
  exitCode: number;
  /** the error reported, if any (also serialised in stdout) */
  error?: CniError;
}

type Handler = (ctx: Ctx) => Promise<CniResult | void>;

/** The command table. VERSION is answered before any config validation (it has none). */
export const COMMAND_TABLE: Record<Exclude<CniCommand, 'VERSION'>, Handler> = {
  ADD: cmdAdd,
  CHECK: cmdCheck,
  DEL: cmdDel,
  STATUS: cmdStatus,
  GC: cmdGc,
};

/** Relocation for tests; the defaults are the real paths. */
export function pathsFromEnv(env: NodeJS.ProcessEnv): { sysfsRoot: string; cacheDir: string; lockTimeoutMs: number; failAt: Set<string> } {
  return {
    sysfsRoot: env.SRIOV_LAB_SYSFS_ROOT || '/sys',
    cacheDir: env.SRIOV_LAB_CNI_CACHE_DIR || DEFAULT_CACHE_DIR,
    lockTimeoutMs: Number(env.SRIOV_LAB_CNI_LOCK_TIMEOUT_MS) || 30_000,
    failAt: new Set((env.SRIOV_LAB_CNI_FAIL_AT ?? '').split(',').filter(Boolean)),
  };
}

function guessVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (isSupportedVersion(v)) return v;
  } catch {
    // fall through
  }
  return LATEST_VERSION;
}

export async function runPlugin(io: PluginIo): Promise<PluginOutput> {
  const log = new Logger();
  let version = guessVersion(io.stdin);
  try {
    const env = parseEnv(io.env);
    if (env.command === 'VERSION') {
      let asked: unknown = version;
      try {
        asked = (JSON.parse(io.stdin || '{}') as { cniVersion?: unknown }).cniVersion ?? LATEST_VERSION;
      } catch {
        // VERSION tolerates a missing or odd stdin
      }
      return { stdout: `${JSON.stringify({ cniVersion: typeof asked === 'string' ? asked : LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS })}\n`, exitCode: 0 };
    }
    const conf = parseNetConf(io.stdin, env);
    version = conf.cniVersion;
    step('parse');
    log.configure(conf.logLevel, conf.logFile);
    log.prefix = `${env.command} ${env.containerId || '-'}/${env.ifname || '-'}`;
    const paths = pathsFromEnv(io.env);
    const ctx: Ctx = {
      env,
      conf,
      runner: new Runner(log, io.env),
      sysfs: new Sysfs(paths.sysfsRoot),
      cache: new Cache(paths.cacheDir),
      log,
      failAt: paths.failAt,
      lockTimeoutMs: paths.lockTimeoutMs,
    };
    const result = await COMMAND_TABLE[env.command](ctx);
    if (env.command === 'ADD') {
      if (!result) throw new CniError(CNI_CODES.failed, 'ADD produced no result');
      return { stdout: `${JSON.stringify(convertResult(result, conf.cniVersion))}\n`, exitCode: 0 };
    }
    return { stdout: '', exitCode: 0 };
  } catch (e) {
    const err = asCniError(e);
    log.error(err.message);
    return { stdout: `${JSON.stringify(err.toJSON(version))}\n`, exitCode: 1, error: err };
  }
}
