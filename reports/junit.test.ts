import t from 'tap';
import { matchExpectedFile } from './fixtures/expected-file.ts';
import { sampleRun } from './fixtures/sample-run.ts';
import { junitSchemaProblems, parseXml, type XmlElement } from './fixtures/xml-check.ts';
import { escapeXmlAttr, escapeXmlText, javaFrame, renderJUnit, xmlSafe } from './junit.ts';
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
  t.equal(failedCase.attrs.line, '42', 'a failed case: the line of the failed operation (24 is where the scenario starts)');
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

// How the two GitHub test-report actions read a JUnit file, after their parsers (mikepenz/action-junit-report
// src/testParser.ts; dorny/test-reporter src/parsers/java-junit), over our strict reader's element tree.
const child = (el: XmlElement, name: string) => el.children.find((c) => c.name === name);

/** action-junit-report: file/line from the testcase (then failure, then testsuite), message from the failure */
function actionJunitReport(xml: string, workspace: string) {
  const root = parseXml(xml);
  return find(root, 'testsuite').flatMap((suite) =>
    suite.children.filter((c) => c.name === 'testcase').map((tc) => {
      const failure = child(tc, 'failure');
      const error = child(tc, 'error');
      const skip = child(tc, 'skipped') !== undefined;
      const stackTrace = (failure?.text || error?.text || '').trim();
      const message = (failure?.attrs.message || error?.attrs.message || stackTrace.split('\n').slice(0, 2).join('\n') || tc.attrs.name).trim();
      const file = tc.attrs.file || failure?.attrs.file || suite.attrs.file || null;
      const line = parseInt(tc.attrs.line || failure?.attrs.line || suite.attrs.line || '');
      const failed = (failure || error) && !skip;
      return {
        path: (file ?? '').replace(`${workspace}/`, ''),
        line: Number.isNaN(line) ? null : line,
        status: skip ? 'skipped' : failed ? 'failure' : 'success',
        message,
        firstLines: stackTrace.split('\n').slice(0, 2).join('\n'),
      };
    }),
  );
}

/** test-reporter java-junit: result from failure/error/skipped, file and line from a stack frame of a tracked file */
function testReporterJavaJunit(xml: string, trackedFiles: string[]) {
  const root = parseXml(xml);
  const runTime = parseFloat(root.attrs.time);
  const frame = /^\s*at (.*)\((.*):(\d+)\)$/;
  const source = (details: string) => {
    for (const line of details.split(/\r?\n/)) {
      const m = frame.exec(line);
      if (!m) continue;
      const [, tracePath, fileName, lineStr] = m;
      const parts = tracePath.split('.');
      const cut = parts.findIndex((p) => p[0] <= 'Z');
      if (cut !== -1) parts.splice(cut);
      if (parts.length === 0) continue;
      for (const f of trackedFiles.filter((x) => x.split('/').pop() === fileName)) {
        const dirs = f.split('/').slice(0, -1);
        if (parts.length > dirs.length) continue;
        const tail = dirs.slice(dirs.length - parts.length);
        if (parts.every((p, i) => p === tail[i])) return { path: f, line: parseInt(lineStr) };
      }
    }
    return undefined;
  };
  return {
    timeMs: runTime * 1000,
    suites: find(root, 'testsuite').map((suite) => ({
      name: suite.attrs.name.trim(),
      timeMs: parseFloat(suite.attrs.time) * 1000,
      tests: suite.children.filter((c) => c.name === 'testcase').map((tc) => {
        const f = child(tc, 'failure') ?? child(tc, 'error');
        return {
          name: tc.attrs.name.trim(),
          result: f ? 'failed' : child(tc, 'skipped') ? 'skipped' : 'success',
          timeMs: parseFloat(tc.attrs.time) * 1000,
          error: f ? { message: `${f.attrs.type}: ${f.attrs.message}`, ...source(f.text) } : undefined,
        };
      }),
    })),
  };
}

t.test('read as mikepenz/action-junit-report and dorny/test-reporter (java-junit) read it', async (t) => {
  const run = sampleRun();
  const xml = renderJUnit(run);
  const mp = actionJunitReport(xml, '/home/runner/work/repo/repo');
  const byStatus = (st: string) => mp.filter((a) => a.status === st);
  t.equal(mp.length, 4, 'every testcase');
  t.same(byStatus('failure').map((a) => [a.path, a.line]), [['scenarios/restart/restart.yaml', 42]], 'the failure annotated at the failed operation');
  t.equal(byStatus('failure')[0].message, 'node/node-a status.allocatable["intel.com/sriov_net_a"] is "2", want "4" (after 1000ms) & <retry>');
  t.equal(
    byStatus('failure')[0].firstLines,
    'AssertionError: node/node-a status.allocatable["intel.com/sriov_net_a"] is "2", want "4" (after 1000ms) & <retry>\n    at scenarios/restart/restart.yaml:42:9',
    'the message first, then where: what its truncated stack trace shows',
  );
  t.same(byStatus('skipped').map((a) => [a.path, a.line]), [['scenarios/vfio/rebind.yaml', 3]]);
  for (const a of mp) t.ok(a.path && a.line, `${a.status}: file and line present`);
  const skippedEl = find(parseXml(xml), 'skipped')[0];
  t.equal(skippedEl.attrs.message, run.scenarios.find((s) => s.status === 'skipped')?.skipReason, 'the skip reason');

  const tracked = ['scenarios/basic/allocate.yaml', 'scenarios/restart/restart.yaml', 'scenarios/vfio/rebind.yaml', 'other/restart.yaml'];
  const dr = testReporterJavaJunit(xml, tracked);
  t.ok(Number.isFinite(dr.timeMs), 'run time');
  t.same(dr.suites.map((s) => s.name), ['scenarios/basic/allocate.yaml', 'scenarios/restart/restart.yaml', 'scenarios/vfio/rebind.yaml']);
  const tests = dr.suites.flatMap((s) => s.tests);
  for (const x of tests) t.ok(Number.isFinite(x.timeMs), `${x.name}: time`);
  t.same(tests.map((x) => x.result), ['success', 'success', 'failed', 'skipped']);
  t.same(tests[2].error, {
    message: 'AssertionError: node/node-a status.allocatable["intel.com/sriov_net_a"] is "2", want "4" (after 1000ms) & <retry>',
    path: 'scenarios/restart/restart.yaml',
    line: 42,
  }, 'the failure at its file and line, the right restart.yaml of two');
});

t.test('javaFrame: only for folders a Java package name can spell', async (t) => {
  t.equal(javaFrame('scenarios/restart/restart.yaml', 42), 'at scenarios.restart.Scenario(restart.yaml:42)');
  t.equal(javaFrame('test/sriov_cni/a.yaml', 1), 'at test.sriov_cni.Scenario(a.yaml:1)');
  t.equal(javaFrame('a.yaml', 1), undefined, 'no folder');
  t.equal(javaFrame('Tests/a.yaml', 1), undefined, 'upper case ends a package');
  t.equal(javaFrame('.github/a.yaml', 1), undefined);
  t.equal(javaFrame('/abs/a.yaml', 1), undefined);
  t.equal(javaFrame('x/a(1).yaml', 1), undefined);
});
