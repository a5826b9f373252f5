import { allCaps } from '../../sim/caps.ts';

export async function doctor(): Promise<number> {
  const list = allCaps();
  const width = Math.max(...list.map((c) => c.name.length));
  for (const c of list) {
    const mark = c.ok ? 'ok ' : 'no ';
    process.stdout.write(`${mark} ${c.name.padEnd(width)}  ${c.detail}${c.ok ? '' : `  (disables: ${c.disables})`}\n`);
  }
  return 0;
}
