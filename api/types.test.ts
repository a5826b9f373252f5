// The TypeScript message types of api/ against the .proto files they describe: every interface is a message of its
// package with exactly the message's fields (keepCase names), so the plugin and the kubelet emulator cannot drift
// from the wire. Parsed from the sources; no root needed.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';

const API = dirname(fileURLToPath(import.meta.url));

/** interface and type names of a types.ts with their member names (a `Record<string, never>` type has none) */
function tsMessages(file: string): Map<string, string[]> {
  const src = readFileSync(join(API, file), 'utf8');
  const out = new Map<string, string[]>();
  for (const m of src.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const members = [...m[2].matchAll(/^ {2}(\w+)\??:/gm)].map((x) => x[1]);
    out.set(m[1], members);
  }
  for (const m of src.matchAll(/^export type (\w+) = Record<string, never>;/gm)) out.set(m[1], []);
  return out;
}

/** message name → field names, for the messages of one .proto */
function protoMessages(file: string): Map<string, string[]> {
  const def = loadSync(join(API, file), { keepCase: true, includeDirs: [API] });
  const out = new Map<string, string[]>();
  for (const [name, d] of Object.entries(def)) {
    const type = (d as { type?: { field?: Array<{ name: string }> } }).type;
    if (!type || !('format' in d)) continue;
    out.set(name.slice(name.lastIndexOf('.') + 1), (type.field ?? []).map((f) => f.name));
  }
  return out;
}

const cases: Array<{ types: string; proto: string; notMessages?: string[] }> = [
  { types: 'deviceplugin/v1beta1/types.ts', proto: 'deviceplugin/v1beta1/api.proto' },
  { types: 'pluginregistration/v1/types.ts', proto: 'pluginregistration/v1/api.proto' },
  { types: 'podresources/v1/types.ts', proto: 'podresources/v1/api.proto' },
];

for (const c of cases) {
  t.test(`${c.types} matches ${c.proto}`, async (t) => {
    const ts = tsMessages(c.types);
    const proto = protoMessages(c.proto);
    t.ok(ts.size > 0 && proto.size > 0, `${ts.size} types, ${proto.size} messages`);
    for (const [name, members] of ts) {
      const fields = proto.get(name);
      t.ok(fields, `${name} is a message of ${c.proto}`);
      if (fields) t.same([...members].sort(), [...fields].sort(), `${name}: the same fields as the message`);
    }
    const missing = [...proto.keys()].filter((n) => !ts.has(n));
    t.same(missing, [], `every message of ${c.proto} has its type`);
  });
}
