// Bundles every executable entry point into dist/ so that processes started per call
// (CNI plugin, ip wrapper, FUSE server) pay for one file, not a module graph.
import { build } from 'esbuild';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// entry name -> source
const entries = {
  'sriov-lab': 'harness/cli/main.ts',
  'sysfs-server': 'sim/kernel/fuse-server.ts',
  'ip-wrapper': 'sim/netns/ip-wrapper.ts',
  'sriov-lab-device-plugin': 'plugins/device-plugin/main.ts',
  'sriov-lab-cni': 'plugins/cni/main.ts',
  'sriov-lab-daemon': 'harness/daemon/main.ts',
  'sriov-lab-node-agent': 'harness/node/node-agent.ts',
  'api-relay': 'sim/apiserver/relay.ts',
  // run inside the image build's first stage (Dockerfile): the node runtime's files, and the CNI's single executable
  'sriov-lab-image-stage': 'harness/images/stage.ts',
};
// CommonJS bundles: a Node 20 single executable application embeds one CommonJS script (Dockerfile); and the
// programs started once per call of something else run as CommonJS, because Node's ES module loader costs them
// ~7 ms of CPU per start (bench/cni.ts): the CNI plugin (per CNI call; the harness installs the .cjs, the .mjs
// stays for running it by hand) and a simulated node's ip wrapper (per ip call that touches VFs)
const cjsEntries = {
  'sriov-lab-cni-sea': 'plugins/cni/sea.ts',
  'sriov-lab-cni': 'plugins/cni/main.ts',
  'ip-wrapper': 'sim/netns/ip-wrapper.ts',
};
// a missing source fails the build before anything is bundled: a skipped entry would leave a stale bundle in dist/
const missing = Object.entries({ ...entries, ...cjsEntries }).filter(([, src]) => !existsSync(join(root, src)));
if (missing.length > 0) {
  for (const [name, src] of missing) console.error(`build: entry "${name}": source ${src} does not exist`);
  process.exit(1);
}
// The device plugin's gRPC messages are static (plugins/device-plugin/grpc-api.ts); grpc-js itself requires
// @grpc/proto-loader (and with it protobufjs, ~250 kB) only inside functions for features the plugin never turns on
// (channelz admin service, ORCA load reports, weighted round robin). Bundling them anyway costs every start the parse
// of that code, so this entry gets a stand-in that fails loudly if one of those paths is ever reached.
const noProtoLoader = {
  name: 'no-proto-loader',
  setup(b) {
    b.onResolve({ filter: /^@grpc\/proto-loader$/ }, (args) => ({ path: args.path, namespace: 'no-proto-loader' }));
    b.onLoad({ filter: /.*/, namespace: 'no-proto-loader' }, () => ({
      contents:
        "const no = () => { throw new Error('@grpc/proto-loader is not bundled into sriov-lab-device-plugin (scripts/build.mjs): it uses static gRPC definitions'); };\n" +
        'module.exports = { loadSync: no, load: no, fromJSON: no };\n',
      loader: 'js',
    }));
  },
};
const entryPlugins = { 'sriov-lab-device-plugin': [noProtoLoader] };
// The CLI and the daemon load each command's code when it runs (dynamic imports, harness/cli/commands.ts): built
// together with code splitting, so that code sits in chunks under dist/chunks/ that a process reads only when it
// gets there (`sriov-lab get pods` does not compile the simulator; the chunks are shared by the two)
const split = ['sriov-lab', 'sriov-lab-daemon'];
mkdirSync(join(root, 'dist'), { recursive: true });
// chunk names carry their content's hash: the previous build's must not pile up
rmSync(join(root, 'dist', 'chunks'), { recursive: true, force: true });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // postject is loaded from the image build's context (Dockerfile), never bundled
  external: ['playwright-core', 'postject'],
  banner: {
    // bundled CommonJS dependencies (grpc-js, yaml) call require()
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'warning',
};
const jobs = [
  build({
    ...common,
    entryPoints: Object.fromEntries(split.map((name) => [name, join(root, entries[name])])),
    outdir: join(root, 'dist'),
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  }),
];
for (const [name, src] of Object.entries(entries)) {
  if (split.includes(name)) continue;
  jobs.push(
    build({
      ...common,
      entryPoints: [join(root, src)],
      outfile: join(root, 'dist', `${name}.mjs`),
      plugins: entryPlugins[name] ?? [],
    }),
  );
}
for (const [name, src] of Object.entries(cjsEntries)) {
  jobs.push(
    build({
      entryPoints: [join(root, src)],
      outfile: join(root, 'dist', `${name}.cjs`),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'warning',
    }),
  );
}
await Promise.all(jobs);

