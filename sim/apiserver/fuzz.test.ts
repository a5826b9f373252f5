// Fuzzing the request bodies: seeded random JSON, mutations of valid objects, broken text, wrong content types,
// oversized bodies, sent as POST/PUT/PATCH to every resource. The server must answer each with a Status (4xx for
// the client's mistakes, never 5xx), and stay up: a plain GET still works after all of it.
import t from 'tap';
import { createRng, type Rng } from '../scheduler/prng.ts';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { ApiServer, MAX_BODY_BYTES } from './server.ts';
import { send } from './fixtures/request.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 15);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 400);

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.intn(xs.length)];
const WORDS = ['apiVersion', 'kind', 'metadata', 'name', 'spec', 'status', 'containers', 'image', 'resources', 'limits', 'labels', '$patch', '$setElementOrder/containers', 'op', 'path', 'value', 'config', '', '__proto__', 'constructor', 'x'];

function randomJson(rng: Rng, depth: number): unknown {
  const k = rng.intn(depth > 3 ? 5 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.intn(2) === 0;
    case 2:
      return pick(rng, [0, -1, 1e308, 0.5, 2 ** 53 + 1]);
    case 3:
      return pick(rng, ['', 'v1', 'Pod', 'a'.repeat(300), '2024-13-45T99:99:99Z', '\u0000', 'default', '/metadata/name', 'k8s.cni.cncf.io/v1']);
    case 4:
      return pick(rng, ['x', 'Pod', 'Node', 'NetworkAttachmentDefinition']);
    case 5:
    case 6: {
      const o: Record<string, unknown> = {};
      for (let i = rng.intn(4); i >= 0; i--) o[pick(rng, WORDS)] = randomJson(rng, depth + 1);
      return o;
    }
    default:
      return Array.from({ length: rng.intn(4) }, () => randomJson(rng, depth + 1));
  }
}

const VALID_POD = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { limits: { 'intel.com/vf': '1' } } }] } };

/** a valid pod with one field replaced by junk somewhere in its tree */
function mutate(rng: Rng, v: unknown): unknown {
  if (rng.intn(4) === 0) return randomJson(rng, 2);
  if (Array.isArray(v)) return v.map((x) => mutate(rng, x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [rng.intn(6) === 0 ? pick(rng, WORDS) : k, mutate(rng, x)]));
  return v;
}

const PATHS = [
  '/api/v1/namespaces/default/pods',
  '/api/v1/namespaces/default/pods/p',
  '/api/v1/namespaces/default/pods/p/status',
  '/api/v1/nodes/node1',
  '/api/v1/nodes/node1/status',
  '/api/v1/namespaces',
  '/api/v1/namespaces/default/configmaps',
  '/api/v1/namespaces/default/events',
  '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions',
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  '/api/v1/namespaces/nope/pods',
];
const TYPES = ['application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'text/plain', 'application/vnd.kubernetes.protobuf'];

t.test(`fuzzed request bodies (seed ${SEED}, ${ROUNDS} requests) get a 4xx Status, never a crash`, async (t) => {
  const cluster = new Cluster({ seed: SEED });
  cluster.addNode(new FakeAgent('node1', { 'intel.com/vf': 4 }));
  const logs: string[] = [];
  const api = await ApiServer.start({ cluster, log: (l) => logs.push(l) });
  t.teardown(async () => {
    await api.close();
    cluster.close();
  });
  const rng = createRng(`fuzz:${SEED}`);
  const codes = new Map<number, number>();
  let bad: string | undefined;
  for (let i = 0; i < ROUNDS && !bad; i++) {
    const path = pick(rng, PATHS);
    const method = path.endsWith('s') ? pick(rng, ['POST', 'POST', 'PATCH', 'PUT']) : pick(rng, ['PUT', 'PATCH', 'PATCH', 'POST']);
    const shape = rng.intn(5);
    const value = shape === 0 ? randomJson(rng, 0) : mutate(rng, VALID_POD);
    let text = JSON.stringify(value) ?? 'null';
    if (shape === 4) text = text.slice(0, rng.intn(text.length + 1)) + pick(rng, ['', '}', '{', '"', ']]', '\\', 'x']);
    const r = await send(api, method, path, text, pick(rng, TYPES));
    codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    if (r.code >= 500) bad = `${method} ${path} ${text} → ${r.code} ${r.body}`;
    else if (r.code >= 400) {
      let status: { kind?: string; code?: number; message?: string } | undefined;
      try {
        status = JSON.parse(r.body) as typeof status;
      } catch {
        bad = `${method} ${path} ${text} → ${r.code} with a body that is not JSON: ${r.body}`;
      }
      if (status && (status.kind !== 'Status' || status.code !== r.code || !status.message)) bad = `${method} ${path} → ${r.code} with ${r.body}`;
    }
  }
  t.notOk(bad, bad ?? 'every error was a Status');
  t.same(logs, [], 'nothing was logged as an internal error');
  t.ok([...codes.keys()].some((c) => c >= 400 && c < 500), `4xx answers: ${JSON.stringify(Object.fromEntries(codes))}`);

  const huge = await send(api, 'POST', '/api/v1/namespaces/default/configmaps', Buffer.alloc(MAX_BODY_BYTES + 1, 0x20), 'application/json');
  t.equal(huge.code, 413);
  t.match(JSON.parse(huge.body), { reason: 'RequestEntityTooLarge', message: `Request entity too large: limit is ${MAX_BODY_BYTES}` });
  const malformed = await send(api, 'POST', '/api/v1/namespaces/default/pods', '{"apiVersion":', 'application/json');
  t.equal(malformed.code, 400);
  t.match(JSON.parse(malformed.body), { reason: 'BadRequest', message: /^couldn't get version\/kind; json parse error: / });
  const unknownPatch = await send(api, 'PATCH', '/api/v1/nodes/node1', '{}', 'application/x-custom');
  t.equal(unknownPatch.code, 415);
  const wrongVersion = await send(api, 'POST', '/api/v1/namespaces/default/pods', JSON.stringify({ ...VALID_POD, apiVersion: 'apps/v1' }), 'application/json');
  t.match(JSON.parse(wrongVersion.body), { code: 400, message: 'the API version in the data (apps/v1) does not match the expected API version (v1)' });
  const invalid = await send(api, 'POST', '/api/v1/namespaces/default/pods', JSON.stringify({ ...VALID_POD, metadata: { name: 'q' }, spec: { containers: [{ image: 'x' }] } }), 'application/json');
  t.match(JSON.parse(invalid.body), { code: 422, reason: 'Invalid', message: 'Pod "q" is invalid: spec.containers[0].name: Required value', details: { causes: [{ reason: 'FieldValueRequired', field: 'spec.containers[0].name' }] } });
  const still = await send(api, 'GET', '/api/v1/nodes', '', 'application/json');
  t.equal(still.code, 200, 'the server still answers');
});
