import t from 'tap';
import { matchExpectedFile } from './fixtures/expected-file.ts';
import { sampleRun } from './fixtures/sample-run.ts';
import { junitSchemaProblems, parseXml, type XmlElement } from './fixtures/xml-check.ts';
import { escapeXmlAttr, escapeXmlText, renderJUnit, xmlSafe } from './junit.ts';
import type { RunResult } from './types.ts';

function find(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => find(c, name))];
}

t.test('sample run: golden file, schema, structure', async (t) => {
  const xml = renderJUnit(sampleRun());
  matchExpectedFile(t, 'sample-run.junit.xml', xml);
  t.same(junitSchemaProblems(xml), [], 'valid against the JUnit schema shape');
  const root = parseXml(xml);
  t.match(root.attrs, { tests: '4', failures: '1', errors: '0', skipped: '1' });
  const suites = find(root, 'testsuite');
  t.same(
    suites.map((s) => [s.attrs.name, s.attrs.tests]),
    [
      ['scenarios/basic/allocate.yaml', '1'],
      ['scenarios/restart/restart.yaml', '2'],
      ['scenarios/vfio/rebind.yaml', '1'],
    ],
    'one testsuite per scenario file',
  );
  const failure = find(root, 'failure');
  t.equal(failure.length, 1);
  t.match(failure[0].attrs.message, 'is "2", want "4"', 'message keeps quotes and & after escaping');
  t.match(failure[0].text, 'at scenarios/restart/restart.yaml:42:9', 'file:line:column');
  t.match(failure[0].text, '-    intel.com/sriov_net_a: "4"\n+    intel.com/sriov_net_a: "2"', 'computed diff');
  t.match(failure[0].text, "reproduce: sriov-lab run scenarios/restart/restart.yaml --scenario 'device plugin restart keeps allocatable'");
  const skipped = find(root, 'skipped');
  t.equal(skipped[0].attrs.message, 'backend "sim" cannot provide requirement "vfio": needs --backend qemu (real vfio-pci)');
  const cases = find(root, 'testcase');
  const failedCase = cases.find((c) => c.attrs.name === 'device plugin restart keeps allocatable')!;
  t.equal(failedCase.attrs.file, 'scenarios/restart/restart.yaml');
  t.equal(failedCase.attrs.line, '24');
  const out = failedCase.children.find((c) => c.name === 'system-out')!;
  t.match(out.text, 'VF 0000:03:10.0 in use by pod default/db-0: skipped <in-use> & not advertised ]]>', 'log text kept, escaped');
  t.notMatch(out.text, '\u001b', 'ANSI escapes dropped');
  t.match(out.text, 'kubelet_internal_checkpoint (application/json, base64');
});

t.test('a scenario-level error (no failed step) is an <error>', async (t) => {
  const run: RunResult = sampleRun();
  const s = run.scenarios[0];
  s.status = 'failed';
  s.error = { name: 'ExecError', message: 'device plugin exited with code 2' };
  const xml = renderJUnit(run);
  t.same(junitSchemaProblems(xml), []);
  const root = parseXml(xml);
  t.equal(root.attrs.errors, '1');
  t.equal(root.attrs.failures, '1');
  t.equal(find(root, 'error')[0].attrs.type, 'ExecError');
});

t.test('escaping', async (t) => {
  const table: Array<[string, string, string]> = [
    ['a<b>&c', 'a&lt;b&gt;&amp;c', 'a&lt;b&gt;&amp;c'],
    ['say "hi"', 'say "hi"', 'say &quot;hi&quot;'],
    ['l1\nl2\tx', 'l1\nl2\tx', 'l1&#10;l2&#9;x'],
    ['\u001b[31mred\u001b[0m', 'red', 'red'],
    ['nul\u0000bell\u0007', 'nul\\u0000bell\\u0007', 'nul\\u0000bell\\u0007'],
    ['lone \ud800 surrogate', 'lone \\ud800 surrogate', 'lone \\ud800 surrogate'],
    ['emoji 😀 ok', 'emoji 😀 ok', 'emoji 😀 ok'],
    [']]>', ']]&gt;', ']]&gt;'],
  ];
  for (const [input, text, attr] of table) {
    t.equal(escapeXmlText(input), text, `text ${JSON.stringify(input)}`);
    t.equal(escapeXmlAttr(input), attr, `attr ${JSON.stringify(input)}`);
  }
  t.equal(xmlSafe('\uFFFE'), '\\ufffe');
  // every hostile string survives a round trip through a strict reader as an attribute and as text
  for (const [input] of table) {
    const el = parseXml(`<a v="${escapeXmlAttr(input)}">${escapeXmlText(input)}</a>`);
    t.equal(el.attrs.v, el.text, `attr and text read back alike for ${JSON.stringify(input)}`);
  }
});

t.test('the schema check catches what it should', async (t) => {
  t.match(junitSchemaProblems('<testsuites><testsuite name="x" tests="1" failures="0" errors="0" time="1"><testcase name="a" classname="x" time="1"/></testsuite></testsuites>'), []);
  t.match(junitSchemaProblems('<testsuites><testsuite name="x" tests="2" failures="0" errors="0" time="1"><testcase name="a" classname="x" time="1"/></testsuite></testsuites>')[0], 'tests=2 but 1 found');
  t.match(junitSchemaProblems('<testsuites><testsuite name="x" tests="1" failures="0" errors="0" time="1"><testcase name="a" classname="x" time="1"><system-out/><failure/></testcase></testsuite></testsuites>')[0], 'not allowed here');
  t.match(junitSchemaProblems('<testsuites><x></testsuites>')[0], 'does not match');
  t.match(junitSchemaProblems('<testsuites name="a & b"/>')[0], 'bare "&"');
});
