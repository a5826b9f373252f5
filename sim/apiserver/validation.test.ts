import t from 'tap';
import type { V1Pod } from '@kubernetes/client-node';
import { admitPodObject, defaultPod, InvalidObjectError, isExtendedResourceName, validatePod } from './validation.ts';

const RES = 'intel.com/sriov';
const pod = (resources: { limits?: Record<string, string>; requests?: Record<string, string> }, name = 'p'): V1Pod => ({
  metadata: { name },
  spec: { containers: [{ name: 'app', image: 'x', resources }] },
});

t.test('extended resource rules with the apiserver messages', async (t) => {
  const cases: Array<{ name: string; resources: { limits?: Record<string, string>; requests?: Record<string, string> }; errors: string[] }> = [
    { name: 'limit alone is valid (sets the request)', resources: { limits: { [RES]: '2' } }, errors: [] },
    { name: 'request = limit', resources: { limits: { [RES]: '2' }, requests: { [RES]: '2' } }, errors: [] },
    {
      name: 'request alone',
      resources: { requests: { [RES]: '1' } },
      errors: ['spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources'],
    },
    {
      name: 'request below limit',
      resources: { limits: { [RES]: '2' }, requests: { [RES]: '1' } },
      errors: [`spec.containers[0].resources.requests: Invalid value: "1": must be equal to ${RES} limit of 2`],
    },
    {
      name: 'fractional',
      resources: { limits: { [RES]: '1500m' } },
      errors: [
        `spec.containers[0].resources.limits[${RES}]: Invalid value: "1500m": must be an integer`,
        `spec.containers[0].resources.requests[${RES}]: Invalid value: "1500m": must be an integer`,
      ],
    },
    {
      name: 'cpu may be overcommitted, but not above the limit',
      resources: { limits: { cpu: '1' }, requests: { cpu: '2' } },
      errors: ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'],
    },
    { name: 'cpu request below limit is fine', resources: { limits: { cpu: '2' }, requests: { cpu: '500m' } }, errors: [] },
    {
      name: 'unknown un-prefixed resource',
      resources: { limits: { gpu: '1' } },
      errors: [
        'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers',
        'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers',
      ],
    },
    {
      name: 'negative',
      resources: { limits: { memory: '-1' } },
      errors: [
        'spec.containers[0].resources.limits[memory]: Invalid value: "-1": must be greater than or equal to 0',
        'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0',
      ],
    },
  ];
  for (const c of cases) t.same(validatePod(defaultPod(pod(c.resources))).map(String), c.errors, c.name);
});

t.test('admitPodObject: defaults, and the aggregate error', async (t) => {
  const ok = admitPodObject(pod({ limits: { [RES]: '1' } }));
  t.same(ok.spec?.containers[0].resources?.requests, { [RES]: '1' });
  t.equal(ok.metadata?.namespace, 'default');
  t.ok(ok.spec?.tolerations?.some((x) => x.key === 'node.kubernetes.io/not-ready' && x.tolerationSeconds === 300));
  const one = t.throws(() => admitPodObject(pod({ limits: { [RES]: '2' }, requests: { [RES]: '1' } }, 'bad'))) as InvalidObjectError;
  t.equal(one.message, `Pod "bad" is invalid: spec.containers[0].resources.requests: Invalid value: "1": must be equal to ${RES} limit of 2`);
  const two = t.throws(() => admitPodObject(pod({ limits: { [RES]: '0.5' } }, 'half'))) as InvalidObjectError;
  t.equal(
    two.message,
    `Pod "half" is invalid: [spec.containers[0].resources.limits[${RES}]: Invalid value: "500m": must be an integer, spec.containers[0].resources.requests[${RES}]: Invalid value: "500m": must be an integer]`,
  );
  t.equal(two.errors.length, 2);
});

t.test('extended resource names', async (t) => {
  t.ok(isExtendedResourceName('intel.com/sriov_net_a'));
  t.ok(isExtendedResourceName('openshift.io/mlx'));
  t.notOk(isExtendedResourceName('cpu'));
  t.notOk(isExtendedResourceName('kubernetes.io/foo'));
  t.notOk(isExtendedResourceName('requests.intel.com/x'));
  t.notOk(isExtendedResourceName('intel.com/' + 'a'.repeat(64)));
});
