// Fuzzing the request bodies (fast-check): random JSON, mutations of valid objects, broken text, deep nesting,
// binary bytes, wrong content types, oversized bodies, sent as POST/PUT/PATCH to every resource. The server must
// answer each with a Status (4xx for the client's mistakes, never 5xx), and stay up: a plain GET still works after
// all of it. 400 requests take about 15 s on a loaded 2-core machine; FUZZ_RUNS raises the count
// (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { request } from 'node:https';
import { binaryText, deepNesting, fuzzParams, mutatedValue, oddValue, type Json } from '../fuzz.ts';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { ApiServer, MAX_BODY_BYTES } from './server.ts';

interface Reply {
  code: number;
  body: string;
}

function send(api: ApiServer, method: string, path: string, body: string | Buffer, contentType: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}${path}`,
      { method, ca: api.pki.caCert, headers: { Authorization: `Bearer ${api.pki.token}`, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const WORDS = ['apiVersion', 'kind', 'metadata', 'name', 'spec', 'status', 'containers', 'image', 'resources', 'limits', 'labels', '$patch', '$setElementOrder/containers', 'op', 'path', 'value', 'config', '', '__proto__', 'constructor', 'x'];

/** JSON whose keys are mostly the words an object or a patch has */
const randomJson: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    oddValue,
    fc.constantFrom<Json>('v1', 'Pod', 'Node', 'NetworkAttachmentDefinition', '2024-13-45T99:99:99Z', 'default', '/metadata/name', 'k8s.cni.cncf.io/v1'),
    fc.dictionary(fc.constantFrom(...WORDS), tie('v'), { maxKeys: 4 }),
    fc.array(tie('v'), { maxLength: 4 }),
  ),
})).v;

const VALID_POD = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { limits: { 'intel.com/vf': '1' } } }] } };

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

/** a body as text: random JSON, a mutated valid pod, either cut short, deep nesting, binary bytes */
const body = fc.oneof(
  randomJson.map((v) => JSON.stringify(v)),
  mutatedValue(VALID_POD).map((v) => JSON.stringify(v)),
  mutatedValue(VALID_POD).map((v) => JSON.stringify(v)),
  fc.tuple(fc.oneof(randomJson, mutatedValue(VALID_POD)), fc.nat(), fc.constantFrom('', '}', '{', '"', ']]', '\\', 'x')).map(([v, at, tail]) => {
    const text = JSON.stringify(v);
    return text.slice(0, at % (text.length + 1)) + tail;
  }),
  deepNesting,
  binaryText,
);
const call = fc.constantFrom(...PATHS).chain((path) =>
  fc.record({
    path: fc.constant(path),
    method: path.endsWith('s') ? fc.constantFrom('POST', 'POST', 'PATCH', 'PUT') : fc.constantFrom('PUT', 'PATCH', 'PATCH', 'POST'),
    text: body,
    type: fc.constantFrom(...TYPES),
  }),
);

t.test('fuzzed request bodies get a 4xx Status, never a crash', async (t) => {
  const cluster = new Cluster({ seed: 15 });
  cluster.addNode(new FakeAgent('node1', { 'intel.com/vf': 4 }));
  const logs: string[] = [];
  const api = await ApiServer.start({ cluster, log: (l) => logs.push(l) });
  t.teardown(async () => {
    await api.close();
    cluster.close();
  });
  const codes = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(call, async ({ path, method, text, type }) => {
      const r = await send(api, method, path, text, type);
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      if (r.code >= 500) throw new Error(`${method} ${path} → ${r.code} ${r.body}`);
      if (r.code >= 400) {
        let status: { kind?: string; code?: number; message?: string } | undefined;
        try {
          status = JSON.parse(r.body) as typeof status;
        } catch {
          throw new Error(`${method} ${path} → ${r.code} with a body that is not JSON: ${r.body}`);
        }
        if (!status || status.kind !== 'Status' || status.code !== r.code || !status.message) throw new Error(`${method} ${path} → ${r.code} with ${r.body}`);
      }
    }),
    fuzzParams(400),
  );
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
