// Writes sim/apiserver/k8s-models.json: the JSON fields of every model class @kubernetes/client-node generates
// (each class's getAttributeTypeMap(): the field's JSON name and its TypeScript type), which the simulated API
// server's decoder walks (sim/apiserver/schema.ts). The table is committed so that a process serving the API does
// not load client-node (13 MB of bundled code, ~0.7 s of start-up) for a few kilobytes of field names;
// sim/apiserver/k8s-models.test.ts fails when the installed client-node no longer gives the same table.
//   node scripts/k8s-models.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'sim/apiserver/k8s-models.json');

/** model name → [[JSON field name, type], …] in client-node's order; models sorted by name */
export async function modelTable() {
  const models = await import('@kubernetes/client-node');
  const pkg = JSON.parse(readFileSync(join(root, 'node_modules/@kubernetes/client-node/package.json'), 'utf8'));
  const table = {};
  for (const name of Object.keys(models).sort()) {
    const m = models[name];
    if (typeof m !== 'function' || typeof m.getAttributeTypeMap !== 'function') continue;
    table[name] = m.getAttributeTypeMap().map((a) => [a.baseName, a.type]);
  }
  return { clientNode: pkg.version, models: table };
}

/** the file's text: one model per line, so that a client-node upgrade shows as a readable diff */
export function render(t) {
  const lines = Object.entries(t.models).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n  "clientNode": ${JSON.stringify(t.clientNode)},\n  "models": {\n${lines.join(',\n')}\n  }\n}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = render(await modelTable());
  if (process.argv.includes('--check')) {
    if (readFileSync(out, 'utf8') !== text) {
      console.error(`${out} is not what the installed @kubernetes/client-node gives: run node scripts/k8s-models.mjs`);
      process.exit(1);
    }
  } else writeFileSync(out, text);
}
