// `sriov-lab image build`: the images of the bundled plugins (harness/images/build.ts, docs/images.md).
import { parse, UsageError } from '../cli/args.ts';
import { buildImages, DEFAULT_NODE_IMAGE, IMAGE_TARGETS, type BaseChoice, type ImageTarget } from './build.ts';
import { SRIOV_LAB_IMAGES } from '../../sim/cluster/images.ts';

export const IMAGE_BUILD_USAGE = `usage: sriov-lab image build [--tag TAG] [--target device-plugin|cni|node-agent]… [--local-base | --pull-base] [--node-image IMAGE]

Builds the container images of the bundled plugins and of the cluster backend's node agent from the project's
Dockerfile with the docker CLI (DOCKER_HOST is used as set), after \`npm run build\`:
  ${SRIOV_LAB_IMAGES['device-plugin']}:TAG   the device plugin (node, its libraries and the bundle)
  ${SRIOV_LAB_IMAGES.cni}:TAG             the CNI as a single executable; it installs itself in the host's /opt/cni/bin
  ${SRIOV_LAB_IMAGES['node-agent']}:TAG      the node agent of --backend cluster (node, the bundle, nsenter, sleep)
Prints each image's size and build time.

  --tag TAG          the tag of the images (default latest)
  --target T         build only this image (repeatable)
  --node-image IMG   the build stage's base (default ${DEFAULT_NODE_IMAGE})
  --local-base       do not pull: import a base made of this machine's node, nsenter, sleep and their libraries
  --pull-base        fail when the base cannot be pulled (default: fall back to --local-base, saying why)
`;

export async function imageBuildCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    tag: { type: 'string' },
    target: { type: 'string', multiple: true },
    'node-image': { type: 'string' },
    'local-base': { type: 'boolean' },
    'pull-base': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`image build: unexpected argument ${positionals[0]}\n\n${IMAGE_BUILD_USAGE}`);
  if (values['local-base'] && values['pull-base']) throw new UsageError('image build: --local-base and --pull-base exclude each other');
  const targets = (values.target ?? []).map((t) => {
    if (!(IMAGE_TARGETS as string[]).includes(t)) throw new UsageError(`image build: --target ${t}: one of ${IMAGE_TARGETS.join(', ')}`);
    return t as ImageTarget;
  });
  const base: BaseChoice = values['local-base'] ? 'local' : values['pull-base'] ? 'pull' : 'auto';
  const t0 = Date.now();
  const r = await buildImages({
    tag: values.tag,
    base,
    nodeImage: values['node-image'],
    targets: targets.length > 0 ? targets : undefined,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`build stage base: ${r.base.image}${r.base.local ? ' (built locally)' : ''}\n`);
  for (const i of r.images) process.stdout.write(`${i.image}  ${(i.sizeBytes / 1e6).toFixed(1)} MB  built in ${(i.buildMs / 1000).toFixed(1)} s\n`);
  process.stdout.write(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
