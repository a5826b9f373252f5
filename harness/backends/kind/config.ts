// The kind cluster of a scenario's topology: one control-plane node and one worker per topology node, each worker
// registered under the topology node's name (kubeadm's nodeRegistration.name, so scenarios name nodes as on sim) and
// bind-mounting its part of the host share with host-to-container propagation (share.ts), where the node's
// simulated sysfs is served. And the manifests the backend installs: Multus (pinned upstream thick manifest) and the
// plugins from deployments/ (the bundled ones' images by default, never pulled), each DaemonSet given the node's /sys
// (a privileged container otherwise mounts a fresh sysfs: the kernel's, not the node's simulated one).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { projectRoot } from '../../../sim/paths.ts';
import type { Topology } from '../../../sim/topology/topology.ts';
import type { KubeObject } from '../../backend.ts';
import { imageRepository, SRIOV_LAB_IMAGES } from '../../../sim/cluster/images.ts';
import { IMAGE_TARGETS, type ImageTarget } from '../../images/build.ts';
import { defaultDevicePluginConfig } from '../../plugins.ts';
import { SHARE_IN_NODE } from './share.ts';

/** Multus, thick plugin, pinned: its daemon runs the delegate CNIs in its own container */
export const MULTUS_MANIFEST_URL = 'https://raw.githubusercontent.com/k8snetworkplumbingwg/multus-cni/v4.1.4/deployments/multus-daemonset-thick.yml';

/** the label of what the backend installed, and the volume it adds */
export const SYS_VOLUME = 'sriov-lab-node-sys';

/** the host directory of a node's share */
export const nodeShare = (shareRoot: string, node: string): string => join(shareRoot, node);

/** kind's config for a topology (kind.x-k8s.io/v1alpha4) */
export function kindConfig(topology: Topology, shareRoot: string): string {
  const config = {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    nodes: [
      { role: 'control-plane' },
      ...topology.nodes.map((n) => ({
        role: 'worker',
        labels: { 'sriov-lab.dev/node': n.name },
        extraMounts: [{ hostPath: nodeShare(shareRoot, n.name), containerPath: SHARE_IN_NODE, propagation: 'HostToContainer' }],
        kubeadmConfigPatches: [stringify({ kind: 'JoinConfiguration', nodeRegistration: { name: n.name } })],
      })),
    ],
  };
  return `# written by sriov-lab for topology ${topology.name ?? '(unnamed)'}\n${stringify(config)}`;
}

/**
 * The thick Multus daemon's chrootDir (its ConfigMap's daemon-config.json): where it runs delegate CNIs chrooted, the
 * node's root mounted into its pod — so a delegate sees the node's files, the sim's ip wrapper included.
 */
export function multusChrootDir(objects: KubeObject[]): string | undefined {
  for (const o of objects) {
    const json = o.kind === 'ConfigMap' ? (o as KubeObject & { data?: Record<string, string> }).data?.['daemon-config.json'] : undefined;
    if (!json) continue;
    try {
      const dir = (JSON.parse(json) as { chrootDir?: unknown }).chrootDir;
      if (typeof dir === 'string' && dir) return dir;
    } catch {
      // not JSON: no chroot the backend can rely on
    }
  }
  return undefined;
}

/** Parses a multi-document manifest; `where` names it in errors (file, URL), with the document's line. */
export function parseManifest(text: string, where: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      throw new Error(`${where}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
    }
    const o = doc.toJS() as KubeObject | null;
    if (o === null) continue;
    if (!o || typeof o !== 'object' || !o.kind || !o.apiVersion || !o.metadata?.name) {
      const line = doc.contents?.range ? text.slice(0, doc.contents.range[0]).split('\n').length : '?';
      throw new Error(`${where}:${line}: a document without apiVersion, kind and metadata.name`);
    }
    out.push(o);
  }
  return out;
}

interface PodSpecLite {
  volumes?: Array<{ name: string; hostPath?: { path: string } }>;
  containers?: Array<{ name: string; volumeMounts?: Array<{ name: string; mountPath: string }> }>;
}

/** Each DaemonSet's containers get the node's /sys (hostPath), unless they mount something at /sys already. */
export function withNodeSys(objects: KubeObject[]): KubeObject[] {
  return objects.map((o) => {
    if (o.kind !== 'DaemonSet') return o;
    const copy = structuredClone(o) as KubeObject & { spec?: { template?: { spec?: PodSpecLite } } };
    const pod = copy.spec?.template?.spec;
    if (!pod) return copy;
    pod.volumes = [...(pod.volumes ?? []), { name: SYS_VOLUME, hostPath: { path: '/sys' } }];
    for (const c of pod.containers ?? []) {
      if ((c.volumeMounts ?? []).some((m) => m.mountPath.replace(/\/+$/, '') === '/sys')) continue;
      c.volumeMounts = [...(c.volumeMounts ?? []), { name: SYS_VOLUME, mountPath: '/sys' }];
    }
    return copy;
  });
}

/**
 * The plugins' objects: by default the bundled plugins' DaemonSets of deployments/ (sriov-lab-device-plugin with the
 * sriovdp-config ConfigMap holding the scenario's config.json, or the config the sim uses when it gives none; the
 * sriov-lab CNI, installed as `sriov` and `ehost-device`), as the sim runs the bundled plugins; the user's manifests
 * (--device-plugin FILE.yaml, --cni FILE.yaml) in their place. sriov-lab's own images are never pulled
 * (imagePullPolicy Never: the backend builds them and loads them into the nodes, ownImages).
 */
export function pluginObjects(o: { devicePluginConfig?: unknown; devicePluginManifest?: string; cniManifest?: string }): KubeObject[] {
  const file = (f: string) => parseManifest(readFileSync(f, 'utf8'), f);
  const dir = join(projectRoot(), 'deployments');
  const out: KubeObject[] = [];
  if (o.devicePluginManifest) out.push(...file(o.devicePluginManifest));
  else {
    for (const f of ['sriovdp-configmap.yaml', 'sriov-lab-device-plugin-daemonset.yaml']) {
      for (const obj of file(join(dir, f))) {
        if (obj.kind === 'ConfigMap') (obj as KubeObject & { data?: Record<string, string> }).data = { 'config.json': JSON.stringify(o.devicePluginConfig ?? defaultDevicePluginConfig(), null, 2) };
        out.push(obj);
      }
    }
  }
  out.push(...(o.cniManifest ? file(o.cniManifest) : file(join(dir, 'sriov-lab-cni-daemonset.yaml'))));
  return neverPullOwnImages(withNodeSys(out));
}

interface ContainerLite {
  image?: string;
  imagePullPolicy?: string;
}
const podContainers = (o: KubeObject): ContainerLite[] => {
  const pod = (o as { spec?: { template?: { spec?: { containers?: ContainerLite[]; initContainers?: ContainerLite[] } } } }).spec?.template?.spec;
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
};
const ownTarget = (image: string | undefined): ImageTarget | undefined => {
  if (!image) return undefined;
  const repo = imageRepository(image);
  return IMAGE_TARGETS.find((t) => SRIOV_LAB_IMAGES[t] === repo);
};

/** Every container of sriov-lab's own images gets imagePullPolicy Never: they are in no registry, the run loads them. */
export function neverPullOwnImages(objects: KubeObject[]): KubeObject[] {
  return objects.map((o) => {
    if (!podContainers(o).some((c) => ownTarget(c.image))) return o;
    const copy = structuredClone(o);
    for (const c of podContainers(copy)) if (ownTarget(c.image)) c.imagePullPolicy = 'Never';
    return copy;
  });
}

/** sriov-lab's own images the objects run (image → its Dockerfile target), in order of appearance */
export function ownImages(objects: KubeObject[]): Array<{ image: string; target: ImageTarget }> {
  const seen = new Map<string, ImageTarget>();
  for (const o of objects) {
    for (const c of podContainers(o)) {
      const target = ownTarget(c.image);
      if (target && c.image && !seen.has(c.image)) seen.set(c.image, target);
    }
  }
  return [...seen].map(([image, target]) => ({ image, target }));
}
