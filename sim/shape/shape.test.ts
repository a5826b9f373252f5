import t from 'tap';
import { Document } from 'yaml';
import { formatIssue, parseYamlDocument } from '../yaml-issues.ts';
import { schemaDocument, toJsonSchema } from './json-schema.ts';
import { schemaProblems } from './schema-check.ts';
import { opt, req } from './shape.ts';
import type { Shape } from './shape.ts';
import { Walker, joinPath } from './walker.ts';
import type { Dialect } from './walker.ts';

/** a small file of every kind of shape */
const defs: Record<string, Shape> = {
  port: { t: 'object', fields: { name: req({ t: 'string', minLength: 1 }), number: opt({ t: 'integer', min: 1, max: 65535 }) } },
};
const shape: Shape = {
  t: 'object',
  fields: {
    kind: req({ t: 'string', const: 'Widget' }),
    color: opt({ t: 'string', enum: ['red', 'green', 'blue'], desc: 'what it looks like', default: 'red' }),
    size: opt({ t: 'string', numbers: true, check: (s) => (/^[0-9]+(cm|m)?$/.test(s) ? undefined : `"${s}" is not a length`) }),
    code: opt({ t: 'string', pattern: '^[A-Z]{3}$' }),
    labels: opt({ t: 'map', keyCheck: (k) => (k.includes(' ') ? `key "${k}" has a space` : undefined), values: { t: 'string', nullAs: '' } }),
    ports: opt({ t: 'array', items: { t: 'ref', name: 'port' }, minItems: 1, tooFew: 'give at least one port' }),
    tags: opt({ t: 'array', items: { t: 'string' }, uniqueItems: true }),
    on: opt({ t: 'boolean' }),
    extra: opt({ t: 'oneOf', options: [{ t: 'integer' }, { t: 'object', fields: { n: opt({ t: 'integer' }) } }] }),
    raw: opt({ t: 'json' }),
  },
};

function walk(text: string, dialect?: Dialect): { value: unknown; lines: string[]; w: Walker } {
  const { doc, lc } = parseYamlDocument(text);
  const w = new Walker('w.yaml', doc, lc, { defs, dialect });
  const value = w.walk(doc.contents, shape, '');
  return { value, lines: w.issues.map(formatIssue), w };
}

t.test('a valid file walks to its JS value; numbers read as text where allowed, null as the nullAs value', async (t) => {
  const { value, lines } = walk('kind: Widget\nsize: 12\nlabels: {a: b, c: }\nports: [{name: http, number: 80}]\ntags: [x, y]\non: true\nextra: {n: 2}\nraw: {any: [thing]}\n');
  t.same(lines, []);
  t.same(value, { kind: 'Widget', size: '12', labels: { a: 'b', c: '' }, ports: [{ name: 'http', number: 80 }], tags: ['x', 'y'], on: true, extra: { n: 2 }, raw: { any: ['thing'] } });
});

t.test('every problem at its line and column; the valid rest is still returned', async (t) => {
  const { value, lines } = walk(`kind: Gadget
color: gren
size: big
code: abc
labels: {"a b": x, ok: 1}
ports: []
tags: [x, x]
on: yes
extra: [1]
colour: red
`);
  t.same(lines, [
    'w.yaml:1:7: kind: "Gadget" is not Widget',
    'w.yaml:2:8: color: "gren" is not one of red, green, blue (did you mean "green"?)',
    'w.yaml:3:7: size: "big" is not a length',
    'w.yaml:4:7: code: "abc" does not match ^[A-Z]{3}$',
    'w.yaml:5:10: labels["a b"]: key "a b" has a space',
    'w.yaml:5:24: labels.ok: expected a string, got number 1 (quote it: "1")',
    'w.yaml:6:8: ports: give at least one port',
    'w.yaml:7:11: tags[1]: "x" is listed twice',
    'w.yaml:8:5: on: expected true or false, got string "yes"',
    'w.yaml:9:8: extra: expected an integer or a mapping, got a list',
    'w.yaml:10:1: colour: unknown field "colour" (did you mean "color"?); known: kind, color, size, code, labels, ports, tags, on, extra, raw',
  ]);
  t.same(value, { labels: {}, ports: [], tags: ['x', 'x'] }, 'only the valid parts');
});

t.test('required fields: absent or null is missing, at the mapping; refs resolve', async (t) => {
  t.same(walk('color: red\n').lines, ['w.yaml:1:1: kind: required field is missing']);
  t.same(walk('kind:\n').lines, ['w.yaml:1:1: kind: required field is missing']);
  t.same(walk('kind: Widget\nports:\n  - number: 0\n').lines, [
    'w.yaml:3:13: ports[0].number: 0 is out of range 1..65535',
    'w.yaml:3:5: ports[0].name: required field is missing',
  ]);
});

t.test('positions of every visited path, for the rules across fields; issuesUnder counts a subtree', async (t) => {
  const { w } = walk('kind: Widget\nports:\n  - name: a\n  - name: ""\n    number: 99999\nraw: {deep: {x: 1}}\n');
  t.same(w.valueAt('ports[1].number'), { line: 5, column: 13 });
  t.same(w.at('ports[1].number'), { line: 5, column: 5 }, 'a field is at its key');
  t.same(w.at('ports[1].missing'), { line: 4, column: 5 }, 'an absent field is at its nearest parent');
  t.same(w.at('raw.deep.x'), { line: 6, column: 14 }, 'inside JSON values too');
  t.equal(w.issuesUnder('ports[1]'), 2);
  t.equal(w.issuesUnder('ports[0]'), 0);
  t.equal(w.issuesUnder('port'), 0, 'a prefix of a name is not a parent');
});

t.test('a document built in code: the same rules, no positions', async (t) => {
  const doc = new Document({ kind: 'Widget', ports: [{ number: 1 }] });
  const w = new Walker('<code>', doc, null, { defs });
  w.walk(doc.contents, shape, '');
  t.same(w.issues.map(formatIssue), ['<code>: ports[0].name: required field is missing']);
});

t.test('a dialect words paths and messages, and can point at keys', async (t) => {
  const goStyle: Dialect = {
    join: (path, key, inMap) => (inMap ? `${path}[${key}]` : path ? `${path}.${key}` : key),
    at: 'key',
    required: 'Required value',
    wrongType: (noun) => `must be ${noun}`,
    notOneOf: (value) => `Unsupported value: ${JSON.stringify(value)}`,
    mapping: 'a map',
  };
  t.same(walk('color: teal\nlabels:\n  a/b: [1]\nports: {}\n', goStyle).lines, [
    'w.yaml:1:1: color: Unsupported value: "teal"',
    'w.yaml:3:3: labels[a/b]: must be a string',
    'w.yaml:4:1: ports: must be a list',
    'w.yaml:1:1: kind: Required value',
  ]);
});

t.test('open objects keep the fields nobody checks', async (t) => {
  const open: Shape = { t: 'object', open: true, fields: { name: req({ t: 'string' }) } };
  const { doc, lc } = parseYamlDocument('name: a\nspec: {x: [1]}\n');
  const w = new Walker('o.yaml', doc, lc);
  t.same(w.walk(doc.contents, open, ''), { name: 'a', spec: { x: [1] } });
  t.same(w.issues, []);
  t.same(w.at('spec.x[0]'), { line: 2, column: 12 });
});

t.test('joinPath quotes keys that are not plain names', async (t) => {
  t.equal(joinPath('', 'a'), 'a');
  t.equal(joinPath('a', 'b-c'), 'a.b-c');
  t.equal(joinPath('a', 'x/y'), 'a["x/y"]');
});

t.test('the JSON Schema says what the walker checks', async (t) => {
  t.same(toJsonSchema({ t: 'string', numbers: true, pattern: '^x', desc: 'd', default: 'x', check: () => undefined }), {
    description: 'd', type: ['string', 'number'], pattern: '^x', default: 'x',
  });
  t.same(toJsonSchema({ t: 'object', open: true, fields: { a: req({ t: 'integer', min: 0 }) } }), {
    type: 'object', required: ['a'], properties: { a: { type: 'integer', minimum: 0 } },
  }, 'an open object allows other properties');
  const schema = schemaDocument({ $id: 'x', title: 'W', description: 'widgets' }, shape, defs);
  const cases: Array<[string, unknown, string[]]> = [
    ['valid', { kind: 'Widget', size: 3, labels: { a: 'b' }, ports: [{ name: 'p' }], tags: ['a'], extra: 1 }, []],
    ['const', { kind: 'Gadget' }, ['$.kind: must be Widget']],
    ['enum', { kind: 'Widget', color: 'teal' }, ['$.color: not in enum']],
    ['unknown field', { kind: 'Widget', colour: 'red' }, ['$.colour: not allowed']],
    ['ref, range', { kind: 'Widget', ports: [{ name: 'p', number: 0 }] }, ['$.ports[0].number: below 1']],
    ['too few', { kind: 'Widget', ports: [] }, ['$.ports: fewer than 1 items']],
    ['unique', { kind: 'Widget', tags: ['a', 'a'] }, ['$.tags: duplicate items']],
    ['oneOf', { kind: 'Widget', extra: 'x' }, ['$.extra: matches 0 of the oneOf alternatives']],
  ];
  for (const [name, value, want] of cases) t.same(schemaProblems(schema, value), want, name);
});
