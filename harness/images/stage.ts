// The image build's first stage (Dockerfile) runs this with the base image's node, in exec form (a locally built base
// has no shell). Bundled to dist/sriov-lab-image-stage.mjs; postject comes from the build context's node_modules.
//   runtime DIR        node at /usr/local/bin/node, its libraries, /tmp, /etc/passwd: the device plugin image's root
//   libs DIR           the libraries only: the CNI image's root (its single executable is node plus the script)
//   agent DIR          as runtime, plus nsenter and sleep of the base with their libraries: the node-agent image's root
//   sea SCRIPT OUT     a Node single executable application of the CommonJS SCRIPT, written to OUT
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AGENT_TOOLS, writePrograms, writeRuntimeRootfs } from './rootfs.ts';

/** the sentinel Node's single-executable support looks for (Node's documentation of `--experimental-sea-config`) */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

async function sea(script: string, out: string): Promise<void> {
  mkdirSync(dirname(out), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sea-'));
  const blob = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true }));
  const r = spawnSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`node --experimental-sea-config ${config} failed (exit ${r.status})`);
  copyFileSync(process.execPath, out);
  chmodSync(out, 0o755);
  const { inject } = await import('postject');
  await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  rmSync(work, { recursive: true, force: true });
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'runtime' && args.length === 1) {
  const bytes = writeRuntimeRootfs(args[0], process.execPath, { executableAt: '/usr/local/bin/node' });
  console.log(`runtime root in ${args[0]}: node ${process.version} and its libraries, ${(bytes / (1 << 20)).toFixed(1)} MiB`);
} else if (cmd === 'agent' && args.length === 1) {
  const bytes = writeRuntimeRootfs(args[0], process.execPath, { executableAt: '/usr/local/bin/node' }) + writePrograms(args[0], AGENT_TOOLS);
  console.log(`node-agent root in ${args[0]}: node ${process.version}, ${AGENT_TOOLS.join(', ')} and their libraries, ${(bytes / (1 << 20)).toFixed(1)} MiB`);
} else if (cmd === 'libs' && args.length === 1) {
  const bytes = writeRuntimeRootfs(args[0], process.execPath);
  console.log(`libraries of node ${process.version} in ${args[0]}: ${(bytes / (1 << 20)).toFixed(1)} MiB`);
} else if (cmd === 'sea' && args.length === 2) {
  await sea(args[0], args[1]);
  console.log(`single executable ${args[1]} (node ${process.version} + ${args[0]})`);
} else {
  console.error('usage: sriov-lab-image-stage.mjs runtime DIR | agent DIR | libs DIR | sea SCRIPT OUT');
  process.exit(2);
}
