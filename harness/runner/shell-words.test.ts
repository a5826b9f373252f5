import t from 'tap';
import { splitCommandLine, joinCommandLine, CommandLineError } from './shell-words.ts';

const cases: Array<[string, string[]]> = [
  ['', []],
  ['   ', []],
  ['/usr/bin/sriovdp', ['/usr/bin/sriovdp']],
  ['sriovdp --log-level 10  --config-file=/etc/pcidp/config.json', ['sriovdp', '--log-level', '10', '--config-file=/etc/pcidp/config.json']],
  ["sh -c 'echo $HOME; exit 3'", ['sh', '-c', 'echo $HOME; exit 3']],
  ['sh -c "echo \\"hi\\" \\$x \\\\ \\n"', ['sh', '-c', 'echo "hi" $x \\ \\n']],
  ["a''b \"\" ''", ['ab', '', '']],
  ['a\\ b c\\\'d', ['a b', "c'd"]],
  ["mixed'single'\"double\"plain", ['mixedsingledoubleplain']],
  ['tab\tsep\nnewline', ['tab', 'sep', 'newline']],
];

for (const [line, want] of cases) {
  t.same(splitCommandLine(line), want, JSON.stringify(line));
}

const bad: Array<[string, number, RegExp]> = [
  ["sh -c 'unterminated", 7, /unterminated ' at column 7/],
  ['x "also', 3, /unterminated " at column 3/],
  ['trailing\\', 9, /backslash ends the line/],
];
for (const [line, column, msg] of bad) {
  let err: unknown;
  try {
    splitCommandLine(line);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof CommandLineError, `${JSON.stringify(line)} is rejected`);
  t.equal((err as CommandLineError).column, column, 'with the column');
  t.match((err as Error).message, msg);
}

// quoting back: every word survives a split of the joined line
for (const argv of [['a b', "it's", 'plain'], ['', 'x'], ['$HOME', 'a"b', 'back\\slash', 'tab\tword']]) {
  t.same(splitCommandLine(joinCommandLine(argv)), argv, `round trip ${JSON.stringify(argv)}`);
}
