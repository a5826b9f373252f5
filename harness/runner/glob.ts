// --filter GLOB: `*` matches within one path segment, `**` across segments, `?` one character, `[abc]` a class.
// A scenario is selected when the glob matches its name, its id ("<file>#<name>") or its file.
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function matchesFilter(globs: readonly string[], s: { name: string; id: string; file: string }): boolean {
  if (globs.length === 0) return true;
  return globs.some((g) => {
    const re = globToRegExp(g);
    return re.test(s.name) || re.test(s.id) || re.test(s.file);
  });
}
