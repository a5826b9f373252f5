#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/ by `npm run build` (run by `npm ci` via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const bundle = fileURLToPath(new URL('../dist/sriov-lab.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('sriov-lab: dist/ is missing; run `npm ci` (or `npm run build`) in the project first\n');
  process.exit(2);
}
await import(bundle);
