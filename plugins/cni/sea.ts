// The single-executable entry of the CNI (bundled as CommonJS to dist/sriov-lab-cni-sea.cjs, the script a Node
// single executable application embeds; see Dockerfile). Called by a container runtime (CNI_COMMAND set) it is the
// plugin; run as `sriov install …` in the CNI image it installs itself in the host's CNI bin directory.
import { isSea } from 'node:sea';
import { runInstall } from './install.ts';
import { runCni } from './run.ts';

// a single executable's argv is [executable, executable, ...args]
if (process.env.CNI_COMMAND === undefined && process.argv[2] === 'install') {
  if (!isSea()) {
    process.stderr.write('install: only the single executable installs itself (it would copy the node binary)\n');
    process.exit(1);
  }
  runInstall(process.execPath, process.argv.slice(3));
} else runCni();
