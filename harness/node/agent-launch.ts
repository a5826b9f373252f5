// What every backend whose nodes run the node agent needs to start one: the bundles it runs from, a free port, and
// the agent's configuration for a topology node (qemu: in a VM; host: on this machine).
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { BackendUpOptions } from '../backend.ts';
import { BUNDLED_CNI_TYPES, DEVICE_PLUGIN_CONFIG_PATH, defaultDevicePluginConfig, writeShim } from '../plugins.ts';
import { NODE_AGENT_PORT, type NodeAgentConfig } from './node-rpc.ts';
import { DEVICE_PLUGIN_NODE_FLAGS } from '../../plugins/device-plugin/node-flags.ts';

/** node as a node sees it (a guest shares the host's /usr; the host backend is the host) */
export const NODE = '/usr/bin/node';
/** a bundle under dist/, at the path every node sees the project at */
export const dist = (name: string): string => join(projectRoot(), 'dist', `${name}.mjs`);

/** The bundles the node side runs from (tsx in a TCG guest costs tens of seconds per process). */
export function assertBundles(): void {
  for (const f of ['sriov-lab-node-agent', 'sriov-lab-cni', 'sriov-lab-device-plugin']) {
    if (!existsSync(dist(f))) throw new Error(`${dist(f)} is missing: run \`npm run build\` (the node side runs the bundles)`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** /opt/cni/bin entries of a node: the bundled CNI as its bundle under both type names, or the user's CNI */
function cniPlugins(workDir: string, opts: BackendUpOptions): Record<string, string> {
  const set: Record<string, string> = {};
  // the CommonJS bundle when built: Node starts it ~7 ms faster than the ES module one, once per CNI call
  const cjs = join(projectRoot(), 'dist', 'sriov-lab-cni.cjs');
  const shim = writeShim(join(workDir, 'sriov-lab-cni'), [NODE, existsSync(cjs) ? cjs : dist('sriov-lab-cni')]);
  for (const t of BUNDLED_CNI_TYPES) set[t] = shim;
  if (opts.cni) for (const t of opts.cni.types ?? ['sriov']) set[t] = opts.cni.path;
  return set;
}

/** A node agent's configuration, but for how the machine names its netdevs; `workDir` is visible to the node. */
export function agentConfig(spec: NodeSpec, index: number, opts: BackendUpOptions, workDir: string): NodeAgentConfig {
  return {
    nodeName: spec.name,
    index,
    seed: `${opts.seed}/${spec.name}`,
    port: NODE_AGENT_PORT,
    registrationModes: spec.kubeletRegistration,
    devicePluginArgv: opts.devicePlugin.argv ?? [NODE, ...DEVICE_PLUGIN_NODE_FLAGS, dist('sriov-lab-device-plugin'), '--config-file', DEVICE_PLUGIN_CONFIG_PATH],
    devicePluginConfig: opts.devicePlugin.config ?? defaultDevicePluginConfig(),
    cniPlugins: cniPlugins(workDir, opts),
    renames: [],
    predictableVfNames: false,
  };
}
