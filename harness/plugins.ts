// The plugins under test: the bundled ones by default, or third-party commands given by the user, and how they are
// installed into a node (a device plugin argv run inside the node; CNI executables under their type names).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryCommand, projectRoot } from '../sim/paths.ts';
import { defaultConfigJson } from '../plugins/device-plugin/config.ts';
import { withDevicePluginNodeFlags } from '../plugins/device-plugin/node-flags.ts';
import type { PluginUnderTest } from '../reports/types.ts';
import type { V1DaemonSet } from '@kubernetes/client-node';
import { BUNDLED_DEVICE_PLUGIN_IMAGE, type BundledExecutables } from '../sim/cluster/images.ts';

export const DEVICE_PLUGIN_CONFIG_PATH = '/etc/pcidp/config.json';
/** the type names NADs use in the wild for the bundled CNI's two modes */
export const BUNDLED_CNI_TYPES = ['sriov', 'ehost-device'] as const;

export function bundledDevicePluginArgv(): string[] {
  return [...bundledExecutables({}).devicePlugin, '--config-file', DEVICE_PLUGIN_CONFIG_PATH];
}

/**
 * What the bundled plugins' images run in a node's pods: the bundled device plugin, and the bundled CNI as
 * cniInstallSet installed it (its shim in `workDir`).
 */
export function bundledExecutables(cniPlugins: Record<string, string>): BundledExecutables {
  return { devicePlugin: withDevicePluginNodeFlags(entryCommand('sriov-lab-device-plugin', 'plugins/device-plugin/main.ts')), cni: cniPlugins[BUNDLED_CNI_TYPES[1]] };
}

export const BUNDLED_DEVICE_PLUGIN_DAEMONSET = 'sriov-lab-device-plugin';

/** The DaemonSet `up` deploys in kube-system: the bundled device plugin on every node, as a real cluster runs one. */
export function bundledDevicePluginDaemonSet(): V1DaemonSet {
  const labels = { name: BUNDLED_DEVICE_PLUGIN_DAEMONSET };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: BUNDLED_DEVICE_PLUGIN_DAEMONSET, namespace: 'kube-system', labels: { ...labels, tier: 'node' } },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, tier: 'node' } },
        spec: {
          hostNetwork: true,
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'device-plugin', image: BUNDLED_DEVICE_PLUGIN_IMAGE, args: ['--config-file', DEVICE_PLUGIN_CONFIG_PATH], securityContext: { privileged: true } }],
        },
      },
    },
  };
}

export function defaultDevicePluginConfig(): unknown {
  return defaultConfigJson;
}

/**
 * argv of the bundled CNI plugin: the bundle when built, else the sources; undefined while neither exists. Of the
 * bundles the CommonJS one (dist/sriov-lab-cni.cjs): Node starts it ~7 ms faster than the ES module one, and it
 * starts once per CNI call.
 */
export function bundledCniArgv(): string[] | undefined {
  const argv = entryCommand('sriov-lab-cni', 'plugins/cni/main.ts');
  const mjs = join(projectRoot(), 'dist', 'sriov-lab-cni.mjs');
  const cjs = join(projectRoot(), 'dist', 'sriov-lab-cni.cjs');
  const bundle = existsSync(cjs) ? cjs : mjs;
  if (argv[argv.length - 1] === mjs) return existsSync(bundle) ? [process.execPath, bundle] : undefined;
  if (existsSync(argv[argv.length - 1])) return argv;
  return existsSync(bundle) ? [process.execPath, bundle] : undefined;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A shell shim that execs argv with the CNI's own argv/stdin (what /opt/cni/bin/<type> points at). */
export function writeShim(path: string, argv: string[]): string {
  writeFileSync(path, `#!/bin/sh\nexec ${argv.map(q).join(' ')} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * The CNI plugins to install in every node (their /opt/cni/bin entries): type name → host executable. The bundled CNI
 * goes under both its type names via a shim `<workDir>/sriov-lab-cni`; a user's CNI replaces the given types
 * (`sriov` by default) only.
 */
export function cniInstallSet(workDir: string, userCni?: { path: string; types?: string[] }): Record<string, string> {
  mkdirSync(workDir, { recursive: true });
  const set: Record<string, string> = {};
  const bundled = bundledCniArgv();
  if (bundled) {
    const shim = writeShim(join(workDir, 'sriov-lab-cni'), bundled);
    for (const t of BUNDLED_CNI_TYPES) set[t] = shim;
  }
  if (userCni) for (const t of userCni.types ?? ['sriov']) set[t] = userCni.path;
  return set;
}

function sha256Of(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

export function pluginsUnderTest(opts: { devicePluginArgv?: string[]; cni?: { path: string } }): PluginUnderTest[] {
  const version = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const out: PluginUnderTest[] = [];
  if (opts.devicePluginArgv) {
    out.push({ role: 'device-plugin', name: opts.devicePluginArgv.join(' '), bundled: false, path: opts.devicePluginArgv[0], sha256: sha256Of(opts.devicePluginArgv[0]) });
  } else {
    out.push({ role: 'device-plugin', name: 'sriov-lab-device-plugin', bundled: true, version });
  }
  if (opts.cni) out.push({ role: 'cni', name: opts.cni.path.split('/').pop()!, bundled: false, path: opts.cni.path, sha256: sha256Of(opts.cni.path) });
  else if (bundledCniArgv()) out.push({ role: 'cni', name: 'sriov-lab-cni', bundled: true, version });
  out.push({ role: 'ipam', name: 'host-local', bundled: false, path: '/usr/lib/cni/host-local', sha256: sha256Of('/usr/lib/cni/host-local') });
  return out;
}
