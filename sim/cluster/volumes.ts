// A pod's volumes on a node, as the kubelet sets them up before the sandbox: configMap volumes are projected into
// the pod's directory under the kubelet's root (pods/<uid>/volumes/kubernetes.io~configmap/<volume>, written like
// the kubelet's atomic writer: a timestamped directory, `..data` pointing at it, each key a link through `..data`),
// hostPath volumes are checked (and created) by their type. Each container then runs in a mount namespace of its own
// (unshare, inside the node's) where its volumeMounts are bind mounts over the node's view; a hostPath mounted at
// its own path is the node's path already and needs none. The node's root is the machine's own except for its
// private directories, so nothing is ever created outside them: a DirectoryOrCreate elsewhere fails the pod, a
// missing mount point elsewhere is left out, each with a message saying so.
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { V1ConfigMap, V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import { PodStartError } from './cluster.ts';

/** What a node needs of a ConfigMap (it has no store). */
export type ConfigMapLite = Pick<V1ConfigMap, 'data' | 'binaryData'>;

/** node paths a pod may create things under: the node's private directories (sim/node/node.ts) */
export const NODE_PRIVATE_PREFIXES = ['/etc', '/var/lib', '/opt', '/run', '/var/run'];

export function nodePrivate(path: string): boolean {
  const p = posix.normalize(path);
  return NODE_PRIVATE_PREFIXES.some((d) => p === d || p.startsWith(`${d}/`));
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** one bind mount of a container: the node path it shows at `target` */
export interface VolumeBind {
  source: string;
  target: string;
  readOnly: boolean;
  /** the source is a file (a subPath of a configMap key): the mount point is a file too */
  file: boolean;
}

/** where a pod's volumes are, once set up: volume name → its path in the node (undefined: unsupported kind) */
export type PodVolumes = Map<string, { path: string; kind: 'configMap' | 'hostPath'; files: Set<string> }>;

function setupFailed(volume: string, message: string): PodStartError {
  return new PodStartError('FailedMount', `MountVolume.SetUp failed for volume ${JSON.stringify(volume)} : ${message}`);
}

/** The files of a configMap volume: path → content and mode (the kubelet's MakePayload). */
function configMapPayload(v: V1Volume, cm: ConfigMapLite | undefined): Map<string, { data: Buffer; mode: number }> {
  const src = v.configMap!;
  const out = new Map<string, { data: Buffer; mode: number }>();
  const defaultMode = src.defaultMode ?? 0o644;
  if (!cm) {
    if (src.optional) return out;
    throw setupFailed(v.name, `configmap ${JSON.stringify(src.name ?? '')} not found`);
  }
  const all = new Map<string, Buffer>();
  for (const [k, s] of Object.entries(cm.data ?? {})) all.set(k, Buffer.from(s, 'utf8'));
  for (const [k, b] of Object.entries(cm.binaryData ?? {})) all.set(k, Buffer.from(b, 'base64'));
  if (!src.items?.length) {
    for (const [k, data] of all) out.set(k, { data, mode: defaultMode });
    return out;
  }
  for (const item of src.items) {
    const data = all.get(item.key);
    if (!data) {
      if (src.optional) continue;
      throw setupFailed(v.name, `configmap references non-existent config key: ${item.key}`);
    }
    out.set(item.path, { data, mode: item.mode ?? defaultMode });
  }
  return out;
}

/**
 * Writes a configMap volume into `dir` (as this process reaches it) the way the kubelet's atomic writer lays it out,
 * so a container sees `config.json -> ..data/config.json` and `..data -> ..<timestamp>`.
 */
function writeAtomic(dir: string, files: Map<string, { data: Buffer; mode: number }>, now: Date): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${now.toISOString().replace(/[-:]/g, '_').replace('T', '_').replace(/\..*$/, '')}.${process.pid}`;
  const tsDir = join(dir, stamp);
  mkdirSync(tsDir, { recursive: true });
  for (const [p, f] of files) {
    const full = join(tsDir, p);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, f.data);
    chmodSync(full, f.mode);
  }
  symlinkSync(stamp, join(dir, '..data'));
  const top = new Set([...files.keys()].map((p) => p.split('/')[0]));
  for (const name of top) symlinkSync(join('..data', name), join(dir, name));
}

export interface VolumeHost {
  /** the kubelet's root as this process reaches it, and as the node sees it */
  kubeletDirHere: string;
  kubeletDirNode: string;
  /** runs a shell script in the node (hostPath checks) */
  execInNode(script: string): Promise<{ exitCode: number | null; stderr: string; stdout: string }>;
}

/** The script that checks (and creates) a pod's hostPath volumes in the node; it prints the first failure. */
export function hostPathScript(volumes: V1Volume[]): string {
  const lines: string[] = [];
  const fail = (name: string, msg: string) => `{ echo ${q(`${name}\t${msg}`)}; exit 1; }`;
  for (const v of volumes) {
    const hp = v.hostPath;
    if (!hp) continue;
    const p = q(hp.path);
    const type = hp.type ?? '';
    const mayCreate = nodePrivate(hp.path);
    const refuse = fail(v.name, `sriov-lab creates hostPath ${hp.path} only under the node's private directories (${NODE_PRIVATE_PREFIXES.join(', ')}): elsewhere it is the machine's own`);
    switch (type) {
      case '':
        break;
      case 'DirectoryOrCreate':
        lines.push(`[ -d ${p} ] || ${mayCreate ? `mkdir -p -m 0755 ${p}` : refuse}`);
        break;
      case 'Directory':
        lines.push(`[ -d ${p} ] || ${fail(v.name, `hostPath type check failed: ${hp.path} is not a directory`)}`);
        break;
      case 'FileOrCreate':
        lines.push(`[ -f ${p} ] || ${mayCreate ? `{ [ -d "$(dirname ${p})" ] || mkdir -p "$(dirname ${p})"; : > ${p}; chmod 0644 ${p}; }` : refuse}`);
        break;
      case 'File':
        lines.push(`[ -f ${p} ] || ${fail(v.name, `hostPath type check failed: ${hp.path} is not a file`)}`);
        break;
      case 'Socket':
        lines.push(`[ -S ${p} ] || ${fail(v.name, `hostPath type check failed: ${hp.path} is not a socket file`)}`);
        break;
      case 'CharDevice':
        lines.push(`[ -c ${p} ] || ${fail(v.name, `hostPath type check failed: ${hp.path} is not a character device`)}`);
        break;
      case 'BlockDevice':
        lines.push(`[ -b ${p} ] || ${fail(v.name, `hostPath type check failed: ${hp.path} is not a block device`)}`);
        break;
      default:
        lines.push(fail(v.name, `invalid HostPathType ${type}`));
    }
  }
  return lines.join('\n');
}

/**
 * Sets up a pod's volumes on the node: configMap volumes written, hostPath volumes checked. Volumes of other kinds
 * (emptyDir, secret, projected…) are not served and fail the pod with a message naming them. Throws PodStartError
 * (FailedMount) as the kubelet reports a volume it cannot set up.
 */
export async function setUpPodVolumes(pod: V1Pod, host: VolumeHost, configMap: (namespace: string, name: string) => ConfigMapLite | undefined, now = new Date()): Promise<PodVolumes> {
  const out: PodVolumes = new Map();
  const volumes = pod.spec?.volumes ?? [];
  if (!volumes.length) return out;
  const uid = pod.metadata!.uid!;
  const namespace = pod.metadata?.namespace ?? 'default';
  const script = hostPathScript(volumes);
  if (script) {
    const r = await host.execInNode(`${script}\ntrue`);
    if (r.exitCode !== 0) {
      const [name, msg] = (r.stdout.trim().split('\n')[0] ?? '').split('\t');
      throw setupFailed(name ?? '', msg || r.stderr.trim() || `hostPath check failed (exit ${r.exitCode})`);
    }
  }
  for (const v of volumes) {
    if (v.hostPath) {
      out.set(v.name, { path: v.hostPath.path, kind: 'hostPath', files: new Set() });
    } else if (v.configMap) {
      const files = configMapPayload(v, configMap(namespace, v.configMap.name ?? ''));
      const rel = join('pods', uid, 'volumes', 'kubernetes.io~configmap', v.name);
      rmSync(join(host.kubeletDirHere, rel), { recursive: true, force: true });
      writeAtomic(join(host.kubeletDirHere, rel), files, now);
      out.set(v.name, { path: posix.join(host.kubeletDirNode, rel), kind: 'configMap', files: new Set(files.keys()) });
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw setupFailed(v.name, `sriov-lab serves configMap and hostPath volumes only, not ${kind}`);
    }
  }
  return out;
}

/** Removes what setUpPodVolumes wrote for a pod (its directory under the kubelet's root). */
export function tearDownPodVolumes(podUid: string, kubeletDirHere: string): void {
  rmSync(join(kubeletDirHere, 'pods', podUid), { recursive: true, force: true });
}

/** A container's volumeMounts as bind mounts; a hostPath mounted at its own path (and read-write) needs none. */
export function containerBinds(c: V1Container, volumes: PodVolumes): VolumeBind[] {
  const out: VolumeBind[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`container ${c.name}: volumeMount ${JSON.stringify(m.name)} names no volume of the pod`);
    const source = m.subPath ? posix.join(v.path, m.subPath) : v.path;
    const readOnly = m.readOnly === true || v.kind === 'configMap';
    if (v.kind === 'hostPath' && posix.normalize(source) === posix.normalize(m.mountPath) && !readOnly) continue;
    const file = v.kind === 'configMap' && !!m.subPath && v.files.has(m.subPath);
    out.push({ source, target: m.mountPath, readOnly, file });
  }
  return out;
}

/**
 * The argv prefix that runs a command with the binds in a mount namespace of its own (none needed: empty). A missing
 * mount point is created where the node's own directories are; elsewhere that mount is left out, and the container's
 * log says so first (the sriov-cni DaemonSet's /host/opt/cni/bin: its bundled image writes /opt/cni/bin itself).
 */
export function mountPrefix(binds: VolumeBind[]): string[] {
  if (!binds.length) return [];
  const lines = ['set -e'];
  for (const b of binds) {
    const t = q(b.target);
    const create = b.file ? `{ mkdir -p "$(dirname ${t})"; : > ${t}; }` : `mkdir -p ${t}`;
    const mount = [`mount --bind ${q(b.source)} ${t}`, ...(b.readOnly ? [`mount -o remount,bind,ro ${t}`] : [])].join(' && ');
    if (nodePrivate(b.target)) {
      lines.push(`[ -e ${t} ] || ${create}`, mount);
    } else {
      // the container has no root of its own: a missing mount point here would be made on the machine itself
      const note = `sriov-lab: ${b.target} not mounted: it does not exist on the node, and mount points are created only under the node's private directories (${NODE_PRIVATE_PREFIXES.join(', ')})`;
      lines.push(`if [ -e ${t} ]; then ${mount}; else echo ${q(note)} >&2; fi`);
    }
  }
  lines.push('exec "$@"');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', lines.join('\n'), 'sh'];
}
