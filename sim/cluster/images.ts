// What a container's image stands for on a simulated node (docs/images.md). No image is pulled: a container runs its
// command with the node's programs, except for the images of the plugins this project bundles, which run the bundled
// executable in place of the image's own entrypoint, with the container's args read as that entrypoint reads them.
// A node that runs one of the device plugin images has that container as its device plugin.
import type { V1Container } from '@kubernetes/client-node';

/** How the node starts the bundled executables (argv prefixes, as the node sees the paths). */
export interface BundledExecutables {
  devicePlugin: string[];
  /** the bundled CNI (one executable for its `sriov` and `ehost-device` types); absent when it is not built */
  cni?: string;
}

export type ImageRole = 'device-plugin' | 'virt-device-plugin' | 'cni-installer';

export interface ImageEntry {
  role: ImageRole;
  /** repositories, normalized (no registry for Docker Hub, no tag) */
  repositories: string[];
}

/**
 * the repositories of this project's own images (Dockerfile; `sriov-lab image build` tags them); node-agent is the
 * cluster backend's agent DaemonSet (harness/backends/cluster/agent.ts), no plugin
 */
export const SRIOV_LAB_IMAGES = { 'device-plugin': 'sriov-lab/device-plugin', cni: 'sriov-lab/cni', 'node-agent': 'sriov-lab/node-agent' } as const;

/** The image table (docs/images.md lists the same). */
export const BUNDLED_IMAGES: readonly ImageEntry[] = [
  { role: 'device-plugin', repositories: ['ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin', 'nfvpe/sriov-device-plugin', SRIOV_LAB_IMAGES['device-plugin']] },
  { role: 'virt-device-plugin', repositories: ['nfvpe/virtdp'] },
  { role: 'cni-installer', repositories: ['ghcr.io/k8snetworkplumbingwg/sriov-cni', 'nfvpe/sriov-cni', SRIOV_LAB_IMAGES.cni] },
];

/** the image sriov-lab's own DaemonSet (`up`) names: the bundled device plugin */
export const BUNDLED_DEVICE_PLUGIN_IMAGE = `${SRIOV_LAB_IMAGES['device-plugin']}:latest`;

/** where the virt device plugin image's config is written on each node (kernel.org/virt only, as virtdp serves) */
export const VIRTDP_CONFIG_PATH = '/run/sriov-lab/virtdp-config.json';
/** the resources the virt device plugin advertises: every virtio-net NIC as kernel.org/virt */
export const VIRTDP_CONFIG = { resourceList: [{ resourceName: 'virt', resourcePrefix: 'kernel.org', selectors: { vendors: ['1af4'], drivers: ['virtio-pci'] } }] };

/** `docker.io/library/x:1`, `x@sha256:…` → `x`: the repository an image reference names. */
export function imageRepository(image: string): string {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  for (const hub of ['docker.io/', 'index.docker.io/', 'registry-1.docker.io/']) if (ref.startsWith(hub)) ref = ref.slice(hub.length);
  if (ref.startsWith('library/')) ref = ref.slice('library/'.length);
  return ref;
}

export function imageRole(image: string | undefined): ImageRole | undefined {
  if (!image) return undefined;
  const repo = imageRepository(image);
  return BUNDLED_IMAGES.find((e) => e.repositories.includes(repo))?.role;
}

/** `--flag=value` and `--flag value` → [flag, value] pairs, in order; a lone flag has value undefined. */
function flags(args: string[]): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    if (m[2] !== undefined) out.push([m[1], m[2]]);
    else if (i + 1 < args.length && !args[i + 1].startsWith('-')) out.push([m[1], args[++i]]);
    else out.push([m[1], undefined]);
  }
  return out;
}

/**
 * The argv a container of a bundled image runs, or undefined for any other image (it runs its own command). The
 * device plugin images take upstream's flags: `--config-file` and `--resource-prefix` are the plugin's own;
 * logging flags (`--log-dir`, a numeric `--log-level`, `-v`) are glog's and have no counterpart, so they are dropped.
 */
export function bundledArgv(c: V1Container, exe: BundledExecutables | undefined): string[] | undefined {
  const role = imageRole(c.image);
  if (!role || !exe) return undefined;
  const given = flags([...(c.command ?? []).filter((x) => x.startsWith('-')), ...(c.args ?? [])]);
  switch (role) {
    case 'device-plugin': {
      const argv = [...exe.devicePlugin];
      for (const [f, v] of given) {
        if ((f === 'config-file' || f === 'resource-prefix') && v !== undefined) argv.push(`--${f}`, v);
        if (f === 'log-level' && v && /^(debug|info|warn|error)$/.test(v)) argv.push('--log-level', v);
      }
      return argv;
    }
    case 'virt-device-plugin':
      return [...exe.devicePlugin, '--config-file', VIRTDP_CONFIG_PATH];
    case 'cni-installer': {
      // the image's entrypoint copies its CNI into the host's /opt/cni/bin and sleeps; the node's /opt/cni/bin is ours.
      // sriov-lab/cni's `--as NAME` (repeatable) names the copies, as its install step does (plugins/cni/install.ts)
      if (!exe.cni) return undefined;
      const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
      const names = given.filter(([f, v]) => f === 'as' && v && /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/.test(v)).map(([, v]) => v!);
      if (names.length === 0) names.push('sriov');
      const links = names.map((n) => `ln -sf ${q(exe.cni!)} /opt/cni/bin/${n}`).join(' && ');
      const said = names.length === 1 && names[0] === 'sriov' ? "echo 'installed the sriov CNI in /opt/cni/bin'" : `echo ${q(`installed the sriov CNI in /opt/cni/bin as ${names.join(', ')}`)}`;
      return ['sh', '-c', `${links} && ${said} && exec sleep infinity`];
    }
  }
}
