import t from 'tap';
import { diffOf, unifiedDiff } from './diff.ts';

t.test('unified diff', async (t) => {
  const table: Array<[string, string, string, string]> = [
    ['equal', 'a\nb\n', 'a\nb\n', ''],
    ['one line changed', 'a\nb\nc\n', 'a\nB\nc\n', '--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n'],
    ['added at end', 'a\n', 'a\nb\n', '--- expected\n+++ actual\n@@ -1,1 +1,2 @@\n a\n+b\n'],
    ['from empty', '', 'x\n', '--- expected\n+++ actual\n@@ -0,0 +1,1 @@\n+x\n'],
    ['to empty', 'x\n', '', '--- expected\n+++ actual\n@@ -1,1 +0,0 @@\n-x\n'],
  ];
  for (const [name, a, b, want] of table) t.equal(unifiedDiff(a, b), want, name);
});

t.test('far-apart changes make two hunks with 3 lines of context', async (t) => {
  const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
  const b = a.replace('l2', 'X2').replace('l17', 'X17');
  const d = unifiedDiff(a, b);
  t.equal(d.match(/^@@/gm)?.length, 2);
  t.match(d, '@@ -1,6 +1,6 @@\n l0\n l1\n-l2\n+X2\n l3\n l4\n l5\n');
  t.match(d, '@@ -15,6 +15,6 @@\n l14\n l15\n l16\n-l17\n+X17\n l18\n l19\n');
});

t.test('diffOf prefers the recorded diff', async (t) => {
  t.equal(diffOf({ diff: 'given' }), 'given');
  t.match(diffOf({ expected: 'a', actual: 'b' }), '-a\n+b');
  t.equal(diffOf({ expected: 'a' }), '');
});
