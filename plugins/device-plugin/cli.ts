// Command line of the standalone plugin: upstream's flags (--config-file, --resource-prefix) plus relocation flags.
import { isLogLevel, type LogLevel } from './log.ts';
import type { AllocationPolicy, HealthCheck } from './config.ts';

export interface CliOptions {
  configFile: string;
  resourcePrefix: string;
  logLevel: LogLevel;
  sysfsRoot: string;
  kubeletDir: string;
  devinfoDir: string;
  devVfioRoot: string;
  devRoot: string;
  procNetRoute: string;
  apiDir?: string;
  pollIntervalMs: number;
  numVfsPollMs: number;
  registrationCheckMs: number;
  healthCheck: HealthCheck;
  allocationPolicy: AllocationPolicy;
  /** print the default config sriov-lab ships and exit */
  printDefaultConfig: boolean;
  /** use the default config instead of reading --config-file */
  defaultConfig: boolean;
  help: boolean;
}

export const USAGE = `Usage: sriov-lab-device-plugin [flags]

SR-IOV network device plugin for Kubernetes (config-compatible with the upstream plugin).

  --config-file PATH        resource config (default /etc/pcidp/config.json)
  --default-config          use the built-in config (sriov_netdevice, sriov_dpdk, kernel.org/virt)
  --print-default-config    print the built-in config and exit
  --resource-prefix NAME    prefix of resources that set none (default intel.com)
  --log-level LEVEL         debug | info | warn | error (default info); logs are JSON lines on stderr
  --sysfs-root PATH         where sysfs is (default /sys)
  --kubelet-dir PATH        kubelet root (default /var/lib/kubelet)
  --devinfo-dir PATH        device-info files (default /var/run/k8s.cni.cncf.io/devinfo/dp)
  --dev-vfio-root PATH      host vfio device nodes (default /dev/vfio)
  --dev-root PATH           host /dev, for /dev/vhost-net and /dev/net/tun (default /dev)
  --proc-net-route PATH     route table of this network namespace (default /proc/net/route)
  --api-dir PATH            accepted and unused (the gRPC API is built in; no .proto is read)
  --poll-interval-ms N      sysfs re-discovery and health period (default 300)
  --numvfs-poll-ms N        sriov_numvfs check period, 0 = off (default 10)
  --registration-check-ms N fallback period of the kubelet-restart check (default 1000)
  --health-check MODE       default for resources: auto | link | operstate | none (default auto)
  --allocation-policy P     default preferred-allocation policy: spread | packed (default spread)
  -h, --help
`;

export class UsageError extends Error {
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(`${message}\n\n${USAGE}`);
    this.name = 'UsageError';
    this.flag = flag;
  }
}

const STRING_FLAGS: Record<string, keyof CliOptions> = {
  'config-file': 'configFile',
  'resource-prefix': 'resourcePrefix',
  'log-level': 'logLevel',
  'sysfs-root': 'sysfsRoot',
  'kubelet-dir': 'kubeletDir',
  'devinfo-dir': 'devinfoDir',
  'dev-vfio-root': 'devVfioRoot',
  'dev-root': 'devRoot',
  'proc-net-route': 'procNetRoute',
  'api-dir': 'apiDir',
  'poll-interval-ms': 'pollIntervalMs',
  'numvfs-poll-ms': 'numVfsPollMs',
  'registration-check-ms': 'registrationCheckMs',
  'health-check': 'healthCheck',
  'allocation-policy': 'allocationPolicy',
};
const BOOL_FLAGS: Record<string, keyof CliOptions> = {
  'print-default-config': 'printDefaultConfig',
  'default-config': 'defaultConfig',
  help: 'help',
  h: 'help',
};
// glog flags the upstream image is often started with; accepted so its manifests work unchanged
const IGNORED_WITH_VALUE = new Set(['log_dir', 'log-dir', 'stderrthreshold']);
const IGNORED_BOOL = new Set(['logtostderr', 'alsologtostderr']);

/** Go-flag style: `--x v`, `--x=v`, `-x v`. */
export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = {
    configFile: '/etc/pcidp/config.json',
    resourcePrefix: 'intel.com',
    logLevel: 'info',
    sysfsRoot: '/sys',
    kubeletDir: '/var/lib/kubelet',
    devinfoDir: '/var/run/k8s.cni.cncf.io/devinfo/dp',
    devVfioRoot: '',
    devRoot: '/dev',
    procNetRoute: '/proc/net/route',
    pollIntervalMs: 300,
    numVfsPollMs: 10,
    registrationCheckMs: 1000,
    healthCheck: 'auto',
    allocationPolicy: 'spread',
    printDefaultConfig: false,
    defaultConfig: false,
    help: false,
  };
  const rec = o as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--?([a-zA-Z][\w-]*)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(a, `unexpected argument "${a}"`);
    const name = m[1];
    let value = m[2];
    if (name in BOOL_FLAGS) {
      rec[BOOL_FLAGS[name]] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (IGNORED_BOOL.has(name)) continue;
    if (name === 'v') {
      if (value === undefined && /^\d+$/.test(argv[i + 1] ?? '')) value = argv[++i];
      if (Number(value ?? 0) >= 4) o.logLevel = 'debug';
      continue;
    }
    const key = STRING_FLAGS[name];
    if (!key && !IGNORED_WITH_VALUE.has(name)) throw new UsageError(a, `unknown flag --${name}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(a, `flag --${name} needs a value`);
      value = argv[++i];
    }
    if (!key) continue;
    if (key === 'numVfsPollMs') {
      const n = Number(value);
      if (!Number.isInteger(n) || (n !== 0 && n < 5)) throw new UsageError(a, `--${name} must be 0 or an integer of at least 5 (got "${value}")`);
      rec[key] = n;
    } else if (key === 'pollIntervalMs' || key === 'registrationCheckMs') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 10) throw new UsageError(a, `--${name} must be an integer of at least 10 (got "${value}")`);
      rec[key] = n;
    } else {
      rec[key] = value;
    }
  }
  if (!isLogLevel(o.logLevel)) throw new UsageError('--log-level', `--log-level must be debug, info, warn or error (got "${o.logLevel}")`);
  if (!['auto', 'link', 'operstate', 'none'].includes(o.healthCheck)) throw new UsageError('--health-check', `--health-check must be auto, link, operstate or none`);
  if (o.allocationPolicy !== 'spread' && o.allocationPolicy !== 'packed') throw new UsageError('--allocation-policy', '--allocation-policy must be spread or packed');
  if (!o.devVfioRoot) o.devVfioRoot = `${o.devRoot.replace(/\/$/, '')}/vfio`;
  return o;
}
