// Where the project's own files are, whether running from sources (tsx) or from the dist/ bundles.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let root: string | undefined;

export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sriov-lab') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the sriov-lab package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

const fromSources = fileURLToPath(import.meta.url).endsWith('.ts');

/**
 * argv to start one of the project's executables: the bundle in dist/ when running bundled, the TypeScript source
 * through tsx when running from sources (tests), so a test exercises the code it sits next to.
 */
export function entryCommand(bundle: string, source: string): string[] {
  const r = projectRoot();
  const dist = join(r, 'dist', `${bundle}.mjs`);
  // from sources, children run from sources too (an edit needs no rebuild), unless SRIOV_LAB_ENTRY=dist asks for
  // the bundles that an installed sriov-lab runs (benchmarks measure those)
  if ((!fromSources || process.env.SRIOV_LAB_ENTRY === 'dist') && existsSync(dist)) return [process.execPath, dist];
  // an absolute loader URL: the child may run with another cwd (e.g. inside a node's namespaces)
  return [process.execPath, '--import', pathToFileURL(join(r, 'node_modules/tsx/dist/loader.mjs')).href, join(r, source)];
}
