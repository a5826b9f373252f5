import t from 'tap';
import type { JsonValue } from '../../reports/types.ts';
import { matchScalar, parsePlaceholder, partialMatch } from './match.ts';

const pod: JsonValue = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'a', namespace: 'default', uid: 'f00-1', labels: { app: 'x' } },
  status: {
    phase: 'Pending',
    podIP: '10.56.0.7',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
    ],
  },
};
const node: JsonValue = { kind: 'Node', metadata: { name: 'node1' }, status: { allocatable: { 'intel.com/sriov_a': '4', cpu: '8' }, capacity: { 'intel.com/sriov_a': 4 } } };

t.test('partial match table', async (t) => {
  const cases: Array<[string, JsonValue, JsonValue | undefined, boolean, string[]?]> = [
    ['listed fields only', { kind: 'Pod', metadata: { name: 'a' } }, pod, true],
    ['a differing value', { status: { phase: 'Running' } }, pod, false, ['status.phase: expected "Running", got "Pending"']],
    ['a missing field', { spec: { nodeName: 'node1' } }, pod, false, ['spec: expected a mapping, got nothing (absent)']],
    ['(any) needs presence', { metadata: { uid: '(any)' }, status: { podIP: '(any)' } }, pod, true],
    ['(any) on an absent field', { status: { hostIP: '(any)' } }, pod, false, ['status.hostIP: expected (any), got nothing (absent)']],
    ['(absent)', { status: { message: '(absent)' } }, pod, true],
    ['(absent) on a present field', { metadata: { uid: '(absent)' } }, pod, false, ['metadata.uid: expected (absent), got "f00-1"']],
    ['regex', { status: { podIP: '~/^10\\.56\\./' } }, pod, true],
    ['regex with flags', { metadata: { name: '~/^A$/i' } }, pod, true],
    ['regex mismatch', { status: { podIP: '~/^192\\./' } }, pod, false, ['status.podIP: expected ~/^192\\./, got "10.56.0.7"']],
    ['numeric comparison on a quantity string', { status: { allocatable: { 'intel.com/sriov_a': '>= 4' } } }, node, true],
    ['numeric comparison fails', { status: { allocatable: { 'intel.com/sriov_a': '> 4' } } }, node, false, ['status.allocatable["intel.com/sriov_a"]: expected > 4, got "4"']],
    ['comparison on a non-number', { status: { phase: '> 1' } }, pod, false, ['status.phase: expected > 1, got "Pending"']],
    ['a number matches a quantity string', { status: { allocatable: { 'intel.com/sriov_a': 4 } } }, node, true],
    ['a string of digits matches a number', { status: { capacity: { 'intel.com/sriov_a': '4' } } }, node, true],
    ['list elements in any order', { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled' }] } }, pod, true],
    ['a list element no one matches', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'ContainersNotReady' }] } }, pod, false,
      ['status.conditions[0]: no element of the list matches; closest is [1]: status.conditions[1].status: expected "True", got "False"']],
    ['(length N)', { status: { conditions: '(length 2)' } }, pod, true],
    ['(length >= N) fails', { status: { conditions: '(length >= 3)' } }, pod, false, ['status.conditions: expected (length >= 3), got [{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"False","reason":"ContainersNotReady"}]']],
    ['escaped placeholder is literal', { metadata: { name: '\\(any)' } }, pod, false, ['metadata.name: expected "(any)", got "a"']],
    ['object does not exist', { kind: 'Pod' }, undefined, false, ['expected a mapping, got nothing (absent)']],
    ['null matches absent', { status: { message: null } }, pod, true],
    ['boolean strict', { spec: { hostNetwork: true } }, { spec: { hostNetwork: 'true' } }, false, ['spec.hostNetwork: expected true, got "true"']],
  ];
  for (const [name, expected, actual, ok, mismatches] of cases) {
    const r = partialMatch(expected, actual);
    t.equal(r.ok, ok, name);
    if (mismatches) t.same(r.mismatches.map((m) => (m.path ? `${m.path}: ${m.message}` : m.message)), mismatches, `${name}: mismatches`);
    t.equal(r.diff === '', ok, `${name}: a diff iff it fails`);
  }
});

t.test('the diff shows only listed fields, and matched placeholders do not show as changes', async (t) => {
  const r = partialMatch({ kind: 'Pod', metadata: { name: 'a', uid: '(any)' }, status: { phase: 'Running', podIP: '~/^10\\./' } }, pod);
  t.equal(r.expectedText, 'kind: Pod\nmetadata:\n  name: a\n  uid: (any)\nstatus:\n  phase: Running\n  podIP: ~/^10\\./\n');
  t.equal(r.actualText, 'kind: Pod\nmetadata:\n  name: a\n  uid: (any)\nstatus:\n  phase: Pending\n  podIP: ~/^10\\./\n');
  t.equal(r.diff, [
    '--- expected',
    '+++ actual',
    '@@ -3,5 +3,5 @@',
    '   name: a',
    '   uid: (any)',
    ' status:',
    '-  phase: Running',
    '+  phase: Pending',
    '   podIP: ~/^10\\./',
    '',
  ].join('\n'));
  const missing = partialMatch({ metadata: { name: 'a', annotations: { x: 'y' } } }, pod);
  t.equal(missing.diff, ['--- expected', '+++ actual', '@@ -1,4 +1,2 @@', ' metadata:', '   name: a', '-  annotations:', '-    x: y', ''].join('\n'));
});

t.test('placeholder parsing and scalar matching', async (t) => {
  t.same(parsePlaceholder('(any)'), { kind: 'any' });
  t.same(parsePlaceholder('>=1'), { kind: 'compare', op: '>=', n: 1 });
  t.same(parsePlaceholder('!= -2.5'), { kind: 'compare', op: '!=', n: -2.5 });
  t.same(parsePlaceholder('(length 3)'), { kind: 'length', op: '==', n: 3 });
  t.equal(parsePlaceholder('Running'), undefined);
  t.equal(parsePlaceholder('>= x'), undefined, 'not a number: a plain string');
  const table: Array<[string, string, boolean]> = [
    ['4', '4\n', true],
    ['4', '5\n', false],
    ['>= 2', '4\n', true],
    ['< 2', '4\n', false],
    ['~/^igb/', 'igbvf\n', true],
    ['(any)', '', true],
    ['\\>= 2', '>= 2', true],
  ];
  for (const [want, got, ok] of table) t.equal(matchScalar(want, got), ok, `${want} vs ${JSON.stringify(got)}`);
});
