#!/usr/bin/env node
// sriov-lab-device-plugin: the standalone executable (bundled to dist/sriov-lab-device-plugin.mjs).
import { parseArgs, USAGE, UsageError } from './cli.ts';
import { ConfigError, defaultConfigJson, loadConfigFile, parseConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startDevicePlugin, type SriovDevicePlugin } from './plugin.ts';

async function main(): Promise<number> {
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
  const parseOpts = { defaultPrefix: cli.resourcePrefix, defaultHealthCheck: cli.healthCheck, defaultAllocationPolicy: cli.allocationPolicy };
  let plugin: SriovDevicePlugin;
  try {
    const config = cli.defaultConfig
      ? parseConfig(defaultConfigJson, { ...parseOpts, source: '(built-in default)' })
      : await loadConfigFile(cli.configFile, parseOpts);
    plugin = await startDevicePlugin({
      config,
      paths: { sysfsRoot: cli.sysfsRoot, devRoot: cli.devRoot, devVfioRoot: cli.devVfioRoot, procNetRoute: cli.procNetRoute },
      kubeletDir: cli.kubeletDir,
      devinfoDir: cli.devinfoDir,
      apiDir: cli.apiDir,
      logger: log,
      pollIntervalMs: cli.pollIntervalMs,
      registrationCheckMs: cli.registrationCheckMs,
    });
  } catch (e) {
    const fields = e instanceof ConfigError ? { resource: e.resource, field: e.field, file: e.source } : {};
    log.error((e as Error).message, fields);
    return 1;
  }
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info('signal received; removing sockets and device-info files', { signal: sig });
      // never hang past a second: the kubelet and the DaemonSet's grace period expect a quick exit
      const hard = setTimeout(() => resolve(0), 900);
      hard.unref();
      plugin.stop().then(
        () => resolve(0),
        (err: Error) => {
          log.error('cleanup failed', { error: err.message });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
