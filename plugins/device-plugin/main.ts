#!/usr/bin/env node
// sriov-lab-device-plugin: the standalone executable (bundled to dist/sriov-lab-device-plugin.mjs).
// first: its mark('load') is the time the bundle began to run, before the modules below load
import { flushMarks, mark } from './trace.ts';
import { parseArgs, USAGE, UsageError } from './cli.ts';
import { ConfigError, defaultConfigJson, loadConfigFile, parseConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startDevicePlugin, type SriovDevicePlugin } from './plugin.ts';

async function main(): Promise<number> {
  mark('main');
  let cli;
  try {
    cli = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cli.printDefaultConfig) {
    process.stdout.write(`${JSON.stringify(defaultConfigJson, null, 2)}\n`);
    return 0;
  }
  const log = createLogger(cli.logLevel);
  // handlers first: a SIGTERM during start-up must still clean up, never kill the process with sockets left behind
  let plugin: SriovDevicePlugin | null = null;
  let signalled: NodeJS.Signals | null = null;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const shutdown = () => {
    flushMarks(); // again: marks after start-up (the first device-info files written)
    log.info('signal received; removing sockets and device-info files', { signal: signalled });
    // never hang past a second: the kubelet and the DaemonSet's grace period expect a quick exit
    setTimeout(() => finish(0), 900).unref();
    (plugin ? plugin.stop() : Promise.resolve()).then(
      () => finish(0),
      (err: Error) => {
        log.error('cleanup failed', { error: err.message });
        finish(1);
      },
    );
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = sig;
    if (plugin) shutdown(); // else: start-up finishes first, then shuts down
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const parseOpts = { defaultPrefix: cli.resourcePrefix, defaultHealthCheck: cli.healthCheck, defaultAllocationPolicy: cli.allocationPolicy };
  try {
    const config = cli.defaultConfig
      ? parseConfig(defaultConfigJson, { ...parseOpts, source: '(built-in default)' })
      : await loadConfigFile(cli.configFile, parseOpts);
    mark('config');
    plugin = await startDevicePlugin({
      config,
      paths: { sysfsRoot: cli.sysfsRoot, devRoot: cli.devRoot, devVfioRoot: cli.devVfioRoot, procNetRoute: cli.procNetRoute },
      kubeletDir: cli.kubeletDir,
      devinfoDir: cli.devinfoDir,
      logger: log,
      pollIntervalMs: cli.pollIntervalMs,
      numVfsPollMs: cli.numVfsPollMs,
      registrationCheckMs: cli.registrationCheckMs,
    });
  } catch (e) {
    const fields = e instanceof ConfigError ? { resource: e.resource, field: e.field, file: e.source } : {};
    log.error((e as Error).message, fields);
    return 1;
  }
  mark('started');
  flushMarks();
  if (signalled) shutdown();
  // a node without matching devices yet has no server and no socket: the process must still wait for them
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    return await done;
  } finally {
    clearInterval(keepAlive);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
