// Splitting a `--device-plugin "CMD"` string into argv the way a POSIX shell splits simple quoting, and quoting argv
// back into a command line a user can paste. Used by `sriov-lab run` (harness/runner) and the cluster CLI
// (harness/cli). Splitting: '…' literal, "…" with \" \\ \$ \` escapes, a backslash outside quotes escapes the next
// character, backslash-newline continues the line. No expansion of any kind: the argv is run directly, never through a
// shell.

export class CommandLineError extends Error {
  readonly commandLine: string;
  /** 1-based column of the offending character (the opening quote, or the trailing backslash) */
  readonly column: number;
  constructor(commandLine: string, column: number, message: string) {
    super(`${message} at column ${column} of: ${commandLine}`);
    this.name = 'CommandLineError';
    this.commandLine = commandLine;
    this.column = column;
  }
}

/** POSIX-shell-like word splitting; throws CommandLineError for an unterminated quote or a trailing backslash */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  let quoteAt = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
        i++;
        if (line[i] !== '\n') cur += line[i];
      } else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      quoteAt = i + 1;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new CommandLineError(line, i + 1, 'a backslash ends the line');
      i++;
      if (line[i] !== '\n') cur += line[i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new CommandLineError(line, quoteAt, `unterminated ${quote}`);
  if (inWord) words.push(cur);
  return words;
}

export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function joinCommandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
