import { allCaps } from '../../sim/caps.ts';
import { oneCommand, plan, SETUP_TARGETS, systemProbe } from '../setup/setup.ts';

export async function doctor(): Promise<number> {
  const list = allCaps();
  const width = Math.max(...list.map((c) => c.name.length));
  for (const c of list) {
    const mark = c.ok ? 'ok ' : 'no ';
    process.stdout.write(`${mark} ${c.name.padEnd(width)}  ${c.detail}${c.ok ? '' : `  (disables: ${c.disables})`}\n`);
  }
  process.stdout.write('\nsriov-lab setup --for TARGET would install:\n');
  const probe = systemProbe();
  for (const target of SETUP_TARGETS) {
    const p = plan(target, probe);
    const what = p.missing.length
      ? p.missing
          .map((s) => (p.backports.includes(s.name) ? `${s.name} (from ${p.backportsSuite})` : p.unavailable.some((u) => u.name === s.name) ? `not ${s.name}` : s.name))
          .join(', ')
      : 'nothing (all present)';
    process.stdout.write(`  ${target.padEnd(4)}  ${what}\n`);
    for (const u of p.unavailable) process.stdout.write(`        ${u.name}: ${u.reason}\n`);
    if (p.problem) process.stdout.write(`        but cannot: ${p.problem}\n`);
    else if (p.missing.length) process.stdout.write(`        ${probe.isRoot() ? '' : 'sudo '}npx sriov-lab setup --for ${target}   (or: ${oneCommand(p, probe.isRoot())})\n`);
  }
  return 0;
}
