// Test fixture: a simulated node (sim/node) with the plugin bundled from the current sources, pod netns helpers
// and a CNI call helper. Tests only; the plugin itself never imports sim/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { defaultTopology } from '../../sim/topology/topology.ts';
import { startNode, newRunId, modelOptionsFor, type StartedNode } from '../../sim/node/node.ts';

export const missingCaps = [caps.root(), caps.fuse(), caps.netns()].find((c) => !c.ok);
export const missingCniPlugins = caps.cniPlugins().ok ? undefined : caps.cniPlugins();

let bundled: Promise<string> | undefined;
/** The plugin bundled from the sources next to this file (once per process), as the build does it. */
export function pluginBundle(): Promise<string> {
  bundled ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-cni-bundle-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'sriov-lab-cni.mjs');
    await build({ entryPoints: [join(projectRoot(), 'plugins/cni/main.ts')], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning' });
    return out;
  })();
  return bundled;
}

export interface CniCall {
  command: string;
  containerId?: string;
  ifname?: string;
  netns?: string;
  args?: string;
  config: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface CniReply {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  json: Record<string, unknown> | undefined;
}

export interface TestNode {
  node: StartedNode;
  /** creates a pod netns on the host (visible in the node under /run/netns) and returns its path */
  addPod(name: string): string;
  delPod(path: string): void;
  cni(call: CniCall): Promise<CniReply>;
  sh(script: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }>;
  ipJson<T = unknown>(args: string[], netns?: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts node1 of the default topology (an I350 PF ens1f0 at 0000:01:00.0, a virtio-net eth1 at 0000:00:05.0). */
export async function startTestNode(opts: { numVfs?: number } = {}): Promise<TestNode> {
  const work = mkdtempSync(join(tmpdir(), 'sl-cni-'));
  const spec = defaultTopology().nodes[0];
  const node = await startNode({ name: spec.name, runId: newRunId(), workDir: work, model: modelOptionsFor(spec) });
  const pods = new Set<string>();
  const bundle = await pluginBundle();
  const sh = (script: string) => node.exec(['bash', '-c', script], { timeoutMs: 60_000 });
  if (opts.numVfs) {
    const r = await sh(`echo ${opts.numVfs} > /sys/class/net/ens1f0/device/sriov_numvfs`);
    if (r.exitCode !== 0) throw new Error(`sriov_numvfs: ${r.stderr}`);
  }
  const t: TestNode = {
    node,
    addPod(name) {
      const ns = `${node.netns}-${name}`;
      const r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
      pods.add(ns);
      return `/run/netns/${ns}`;
    },
    delPod(path) {
      const ns = path.replace('/run/netns/', '');
      spawnSync('ip', ['netns', 'del', ns]);
      pods.delete(ns);
    },
    async cni(c) {
      const env: Record<string, string> = {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: c.command,
        CNI_CONTAINERID: c.containerId ?? 'c1',
        CNI_IFNAME: c.ifname ?? 'net1',
        CNI_NETNS: c.netns ?? '',
        CNI_PATH: '/usr/lib/cni',
        CNI_ARGS: c.args ?? '',
        ...c.env,
      };
      const r = await node.exec([process.execPath, bundle], { input: JSON.stringify(c.config), env, timeoutMs: 60_000 });
      let json: Record<string, unknown> | undefined;
      try {
        json = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      return { ...r, json };
    },
    sh,
    async ipJson<T>(args: string[], netns?: string): Promise<T> {
      const r = await sh(`${netns ? `nsenter --net=${netns} ` : ''}ip -j ${args.join(' ')}`);
      if (r.exitCode !== 0) throw new Error(`ip -j ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout || '[]') as T;
    },
    async stop() {
      for (const ns of pods) spawnSync('ip', ['netns', 'del', ns]);
      pods.clear();
      await node.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return t;
}
