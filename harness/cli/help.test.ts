// Every command answers --help (and `sriov-lab help CMD`) with its usage and exit code 0, whether or not its own
// argument parser knows the option; a --help after `--` belongs to the command being run.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../sim/paths.ts';
import { asksForHelp, commands } from './commands.ts';

const run = promisify(execFile);
const bin = join(projectRoot(), 'bin/sriov-lab.js');
const bundled = existsSync(join(projectRoot(), 'dist/sriov-lab.mjs'));

t.test('a command with a usage text of its own: the summary repeats its first line', async (t) => {
  let n = 0;
  for (const [name, c] of commands) {
    if (!c.usage) continue;
    n++;
    const first = (await c.usage()).split('\n')[0].replace(`usage: sriov-lab ${name} `, '');
    if (name === 'run' || name === 'fidelity') t.equal(c.summary.slice(c.summary.indexOf(': ') + 2), first, name);
    else t.match(await c.usage(), new RegExp(`^usage: sriov-lab ${name}\\b`), name);
  }
  t.ok(n >= 4, `${n} commands with their own usage`);
});

t.test('--help before `--` asks for help; after it, it is an argument of the command run', async (t) => {
  t.ok(asksForHelp(['--help']));
  t.ok(asksForHelp(['pods', '-h']));
  t.notOk(asksForHelp(['--', 'ls', '--help']));
  t.notOk(asksForHelp(['--topology', 'x.yaml']));
});

if (!bundled) {
  t.comment('skipped: the end-to-end help checks need the bundle (npm run build)');
} else {
  t.test('every command: --help and help CMD print its usage and exit 0', async (t) => {
    const names = [...commands.keys()];
    t.ok(names.length >= 20, `${names.length} commands`);
    for (const name of names) {
      const words = name.split(' ');
      const [a, b] = await Promise.all([run('node', [bin, ...words, '--help']), run('node', [bin, 'help', ...words])]);
      t.match(a.stdout, new RegExp(`^usage: sriov-lab ${name}\\b`), `${name} --help`);
      t.equal(b.stdout, a.stdout, `help ${name} prints the same`);
      t.equal(a.stderr, '', `${name} --help writes nothing to stderr`);
    }
  });

  t.test('help of an unknown command: exit 2 and the command list', async (t) => {
    const r = await run('node', [bin, 'help', 'nosuch']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    t.equal(r.code, 2);
    t.match(r.stderr, /unknown command "nosuch"[\s\S]*commands:/);
  });
}
