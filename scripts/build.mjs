// Bundles every executable entry point into dist/ so that processes started per call
// (CNI plugin, ip wrapper, FUSE server) pay for one file, not a module graph.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// entry name -> source; sources that do not exist yet are skipped so the build works while modules land
const entries = {
  'sriov-lab': 'harness/cli/main.ts',
  'sysfs-server': 'sim/kernel/fuse-server.ts',
  'ip-wrapper': 'sim/netns/ip-wrapper.ts',
  'sriov-lab-device-plugin': 'plugins/device-plugin/main.ts',
  'sriov-lab-cni': 'plugins/cni/main.ts',
  'sriov-lab-daemon': 'harness/daemon/main.ts',
  'sriov-lab-node-agent': 'harness/node/node-agent.ts',
};
mkdirSync(join(root, 'dist'), { recursive: true });
const jobs = [];
for (const [name, src] of Object.entries(entries)) {
  if (!existsSync(join(root, src))) continue;
  jobs.push(
    build({
      entryPoints: [join(root, src)],
      outfile: join(root, 'dist', `${name}.mjs`),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      sourcemap: 'linked',
      external: ['playwright-core'],
      banner: {
        // bundled CommonJS dependencies (grpc-js, yaml) call require()
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
      logLevel: 'warning',
    }),
  );
}
await Promise.all(jobs);

