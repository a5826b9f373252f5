// Go's text/tabwriter (left-aligned, space padding), which kubectl prints all its tables and `describe` output with.
// Column widths are per "column block": consecutive lines that have a cell in that column; a line with fewer cells
// ends the block. Emulating the algorithm is what makes our output line up exactly like kubectl's.

export class TabWriter {
  private buf = '';
  private out = '';
  constructor(
    private readonly minwidth: number,
    private readonly padding: number,
  ) {}

  write(text: string): this {
    this.buf += text;
    return this;
  }

  /** Formats what was written since the last flush; alignment never crosses a flush. */
  flush(): this {
    if (!this.buf) return this;
    const text = this.buf;
    this.buf = '';
    const endsWithNewline = text.endsWith('\n');
    const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
    const widths: number[] = [];
    const rendered: string[] = new Array(lines.length).fill('');
    const emit = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        const cells = lines[i];
        let s = '';
        for (let j = 0; j < cells.length; j++) {
          const c = cells[j];
          if (j < widths.length) s += c + ' '.repeat(Math.max(widths[j] - c.length, 0));
          else s += c;
        }
        rendered[i] = s;
      }
    };
    const format = (line0: number, line1: number): void => {
      const column = widths.length;
      let start = line0;
      for (let i = line0; i < line1; i++) {
        if (column >= lines[i].length - 1) continue;
        emit(start, i);
        let width = this.minwidth;
        let j = i;
        for (; j < line1 && column < lines[j].length - 1; j++) {
          width = Math.max(width, lines[j][column].length + this.padding);
        }
        widths.push(width);
        format(i, j);
        widths.pop();
        start = j;
        i = j - 1;
      }
      emit(start, line1);
    };
    format(0, lines.length);
    this.out += rendered.join('\n') + (endsWithNewline ? '\n' : '');
    return this;
  }

  toString(): string {
    this.flush();
    return this.out;
  }
}

/** kubectl's table printer settings (printers.GetNewTabWriter: minwidth 6, padding 3). */
export function tableWriter(): TabWriter {
  return new TabWriter(6, 3);
}

/** kubectl describe's settings (tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)). */
export function describeWriter(): TabWriter {
  return new TabWriter(0, 2);
}
