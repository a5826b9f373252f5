import t from 'tap';
import { spawnSync } from 'node:child_process';
import type { Node as YamlNode } from 'yaml';
import { MAX_SYNTAX_ISSUES, MAX_YAML_DEPTH, YamlIssuesError, formatIssue, nodePos, notTextIssue, parseYamlDocument, quoteShort, sortIssues, suggestion, syntaxIssues, unparsableIssue, yamlDepthOffset } from './yaml-issues.ts';

t.test('issue lines: with and without source position and field', async (t) => {
  t.equal(formatIssue({ file: 'a.yaml', line: 3, column: 5, field: 'spec.x', message: 'bad' }), 'a.yaml:3:5: spec.x: bad');
  t.equal(formatIssue({ file: 'a.yaml', line: 3, column: 5, field: '', message: 'bad' }), 'a.yaml:3:5: bad');
  t.equal(formatIssue({ file: '<inline>', line: 0, column: 0, field: 'spec.x', message: 'bad' }), '<inline>: spec.x: bad');
});

t.test('sorted: the file itself first, then by position', async (t) => {
  const i = (file: string, line: number, column: number, message: string) => ({ file, line, column, field: '', message });
  const sorted = sortIssues([i('other.yaml', 1, 1, 'o'), i('s.yaml', 9, 1, 'late'), i('s.yaml', 2, 7, 'b'), i('s.yaml', 2, 3, 'a')], 's.yaml');
  t.same(sorted.map((x) => x.message), ['a', 'b', 'late', 'o']);
});

t.test('positions and syntax errors come from the source text', async (t) => {
  const { doc, lc } = parseYamlDocument('a: 1\nb:\n  c: [1, 2\n');
  t.ok(doc.errors.length > 0);
  const issues = syntaxIssues('f.yaml', doc.errors, lc);
  t.equal(issues[0].file, 'f.yaml');
  t.ok(issues[0].line >= 3, 'the unterminated flow sequence is at or after line 3');
  t.match(issues[0].message, /^YAML: /);
  t.match(syntaxIssues('f.yaml', doc.errors, lc, '')[0].message, /^(?!YAML: )/, 'prefix is optional');
  const dup = parseYamlDocument('a: 1\na: 2\n');
  t.match(syntaxIssues('d.yaml', dup.doc.errors, dup.lc)[0], { line: 2, column: 1 }, 'duplicate keys are errors, at the second key');
  const ok = parseYamlDocument('top:\n  inner: x\n');
  const inner = ok.doc.getIn(['top', 'inner'], true) as YamlNode;
  t.same(nodePos(ok.lc, inner), { line: 2, column: 10 });
  t.same(nodePos(null, inner), { line: 0, column: 0 }, 'no source text, no position');
});

t.test('did you mean', async (t) => {
  t.equal(suggestion('pciadr', ['pciAddr', 'model']), ' (did you mean "pciAddr"?)');
  t.equal(suggestion('MODEL', ['pciAddr', 'model']), ' (did you mean "model"?)', 'case only');
  t.equal(suggestion('frobnicate', ['pciAddr', 'model']), '');
});

t.test('the error lists every issue under a count', async (t) => {
  const e = new YamlIssuesError('x.yaml', [{ file: 'x.yaml', line: 1, column: 2, field: 'f', message: 'm' }], 'widget');
  t.equal(e.message, 'x.yaml: 1 widget error:\nx.yaml:1:2: f: m');
  t.same(e.lines(), ['x.yaml:1:2: f: m']);
});

t.test('a file that is not text gets one issue at the first bad byte, not its bytes quoted back', async (t) => {
  t.equal(notTextIssue('f.yaml', 'a: 1\nb: 2\n'), undefined, 'text is text');
  t.equal(notTextIssue('f.yaml', 'name: Zoë ✓\n'), undefined, 'so is UTF-8 beyond ASCII');
  t.match(notTextIssue('f.yaml', 'a: 1\nb: x\0y\n'), { line: 2, column: 5, message: 'not a text file: a NUL byte at offset 9 (a YAML file was expected)' });
  const binary = Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x00]).toString('utf8');
  t.match(notTextIssue('f.yaml', binary), { line: 1, column: 4, message: /bytes that are not UTF-8 at offset 3/ });
});

t.test('a long value is quoted with a short prefix and its length', async (t) => {
  t.equal(quoteShort('short'), '"short"');
  const q = quoteShort('x'.repeat(3000));
  t.ok(q.length < 100, `quoted in ${q.length} characters`);
  t.match(q, /^"x+"… \(3000 characters\)$/);
});

t.test('a file full of syntax errors lists the first ten and counts the rest', async (t) => {
  const { doc, lc } = parseYamlDocument('not yaml: [\n'.repeat(50));
  t.ok(doc.errors.length > MAX_SYNTAX_ISSUES + 1);
  const issues = syntaxIssues('f.yaml', doc.errors, lc);
  t.equal(issues.length, MAX_SYNTAX_ISSUES + 1);
  t.match(issues.at(-1)?.message, new RegExp(`^YAML: ${doc.errors.length - MAX_SYNTAX_ISSUES} more syntax errors after these`));
});

t.test('nesting depth is measured without recursion, at the collection that goes too deep', async (t) => {
  t.equal(yamlDepthOffset('a: {b: [1, 2]}\nc:\n  - d: e\n'), undefined);
  t.equal(yamlDepthOffset(`${'['.repeat(MAX_YAML_DEPTH)}${']'.repeat(MAX_YAML_DEPTH)}`), undefined, 'exactly the limit is fine');
  t.equal(yamlDepthOffset('['.repeat(MAX_YAML_DEPTH + 1)), MAX_YAML_DEPTH, 'the first collection past the limit');
  t.equal(yamlDepthOffset('- '.repeat(200_000)), 2 * MAX_YAML_DEPTH, 'far deeper than any stack');
  t.equal(yamlDepthOffset('{a: '.repeat(MAX_YAML_DEPTH + 1)), 4 * MAX_YAML_DEPTH);
  const block = Array.from({ length: MAX_YAML_DEPTH + 5 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
  t.equal(yamlDepthOffset(block), block.indexOf(`k${MAX_YAML_DEPTH + 1}:`), 'block mappings count too, by indentation');
  t.equal(yamlDepthOffset(`a: '${'['.repeat(20)}'\nb: |\n  {{{{{{\n  }}}}}}\n`), undefined, 'brackets inside quotes count, but only what is open');
  t.same(unparsableIssue('f.yaml', `x: 1\ny: ${'['.repeat(500)}`), { file: 'f.yaml', line: 2, column: 104, field: '', message: `YAML: collections nested more than ${MAX_YAML_DEPTH} levels deep` });
  t.match(unparsableIssue('f.yaml', 'a\0'), { line: 1, column: 2, message: /NUL byte/ }, 'not text is said first');
});

// The shrunk case of the fuzz tests: a sequence nested 1000 deep. Parsed once it was a syntax error ("Maximum call
// stack size exceeded"); parsed again in the same process it killed it (V8: "RegExpCompiler Allocation failed").
// A fresh process, since a process that parsed YAML before is not affected.
t.test('a file nested 1000 deep can be parsed twice in one process (topology, manifest)', async (t) => {
  const code = `
    import { parseTopology } from ${JSON.stringify(new URL('./topology/topology.ts', import.meta.url).href)};
    import { parseManifests } from ${JSON.stringify(new URL('./cluster/manifest.ts', import.meta.url).href)};
    const deep = '- '.repeat(1000) + 'x';
    for (const f of [parseTopology, parseTopology, parseManifests, parseManifests]) {
      try { f(deep, 'deep.yaml'); } catch (e) { console.log(e.name + ': ' + e.message.split('\\n').pop()); }
    }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr.split('\n').find((l) => /FATAL|Error/.test(l)) ?? 'exit 0');
  const why = `deep.yaml:1:201: YAML: collections nested more than ${MAX_YAML_DEPTH} levels deep`;
  t.same(r.stdout.trim().split('\n'), [`TopologyError: ${why}`, `TopologyError: ${why}`, `ManifestError: ${why}`, `ManifestError: ${why}`]);
});
