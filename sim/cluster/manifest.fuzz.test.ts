// Fuzzing manifest files: mutations of a valid Pod, a NetworkAttachmentDefinition, a v1 List and multi-document
// files, broken YAML, binary bytes, deep nesting, alias bombs and random text. parseManifests (and the pod admission
// check over what it accepts) either succeeds or throws a ManifestError whose every issue names the file, a line of
// it and the field; nothing else is thrown and nothing hangs.
// 600 cases take about 10 s on a loaded 2-core machine; FUZZ_RUNS raises the count (docs/architecture.md#fuzzing).
import t from 'tap';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ManifestError, parseManifests, podAdmissionIssues } from './manifest.ts';
import { fuzzParams, issueProblem, yamlInputs } from '../fuzz.ts';

const FILE = 'pod.yaml';
const HANG_MS = 10_000;
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'vf-pod', labels: { app: 'x' }, annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov-net' } },
  spec: {
    nodeSelector: { 'kubernetes.io/hostname': 'node1' },
    tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
    containers: [{ name: 'c', image: 'busybox', resources: { limits: { 'intel.com/sriov_netdevice': 1 }, requests: { 'intel.com/sriov_netdevice': '1' } } }],
  },
};
const nad = {
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name: 'sriov-net', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov_netdevice' } },
  spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'sriov', name: 'sriov-net', ipam: { type: 'host-local', subnet: '10.56.217.0/24' } }) },
};
const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node2' }, spec: { taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }] } };

const inputs = fc.oneof(
  yamlInputs(pod),
  yamlInputs(nad),
  yamlInputs(node),
  yamlInputs({ apiVersion: 'v1', kind: 'List', items: [nad, pod] }),
  fc.tuple(yamlInputs(nad), yamlInputs(pod)).map(([a, b]) => `${a}---\n${b}`),
);

t.test('a mutated, broken or random manifest is a ManifestError naming file, line and field', async (t) => {
  let errors = 0;
  let accepted = 0;
  fc.assert(
    fc.property(inputs, (text) => {
      const t0 = Date.now();
      try {
        const docs = parseManifests(text, FILE);
        accepted++;
        const admission = podAdmissionIssues(docs);
        if (admission.length) {
          const problem = issueProblem(admission, FILE, text);
          if (problem) throw new Error(`pod admission: ${problem}`);
        }
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`not a ManifestError: ${(e as Error).stack ?? String(e)}`);
        const problem = issueProblem(e.issues, FILE, text);
        if (problem) throw new Error(problem);
        errors++;
      }
      const ms = Date.now() - t0;
      if (ms > HANG_MS) throw new Error(`took ${ms}ms`);
    }),
    fuzzParams(600),
  );
  t.ok(errors > 0, `${errors} inputs were rejected with a ManifestError`);
  t.ok(accepted > 0, `${accepted} inputs were accepted`);
});

t.test('the valid documents the fuzzer starts from are accepted', async (t) => {
  t.equal(parseManifests([nad, pod, node].map((o) => stringify(o)).join('---\n'), FILE).length, 3);
});
