// Entry of the cluster daemon process: `sriov-lab up` starts it detached, in its own process group, with stdout and
// stderr on the state dir's daemon.log. Usage: main.ts --state-dir DIR (DIR/options.json written by `up`).
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { ClusterDaemon, newWorkDir, type DaemonOptions } from './daemon.ts';
import { DAEMON_ID_ENV, daemonPaths, writeDaemonInfo, type DaemonInfo } from './state.ts';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const at = argv.indexOf('--state-dir');
  const stateDir = at >= 0 ? argv[at + 1] : undefined;
  if (!stateDir) {
    process.stderr.write('usage: sriov-lab-daemon --state-dir DIR\n');
    return 2;
  }
  const paths = daemonPaths(stateDir);
  // every process started from here on inherits the marker (sysfs servers, node holders, device plugins)
  const id = (process.env[DAEMON_ID_ENV] ||= randomUUID());
  const info: DaemonInfo = { pid: process.pid, id, stateDir, workDir: '', socket: paths.socket, log: paths.log, startedAt: new Date().toISOString(), netns: [] };
  let fd: number;
  try {
    fd = openSync(paths.info, 'wx', 0o644); // the lock: one daemon per state dir
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      log(`${paths.info} exists: another daemon owns ${stateDir}; not starting`);
      return 3;
    }
    throw e;
  }
  writeSync(fd, `${JSON.stringify(info, null, 2)}\n`);
  closeSync(fd);
  let options: DaemonOptions;
  try {
    options = JSON.parse(readFileSync(paths.options, 'utf8')) as DaemonOptions;
  } catch (e) {
    log(`cannot read ${paths.options}: ${(e as Error).message}`);
    rmSync(paths.info, { force: true });
    return 2;
  }
  info.workDir = newWorkDir();
  writeDaemonInfo(paths, info);
  log(`daemon ${process.pid} (id ${id}) serving ${paths.socket}; work dir ${info.workDir}`);

  const daemon = new ClusterDaemon(paths, info, options, log);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping the cluster`);
      void daemon.stop();
    });
  }
  // a bug must not leave namespaces and mounts behind: log it and tear the cluster down
  process.on('uncaughtException', (e) => {
    log(`uncaught exception: ${e.stack ?? e}`);
    void daemon.stop();
  });
  process.on('unhandledRejection', (e) => log(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
  void daemon.run();
  return daemon.whenStopped;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`daemon failed: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
