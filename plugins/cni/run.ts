// One CNI call of the executable: the config from stdin, the result on stdout, the exit code of the plugin. Shared by
// the script entry (main.ts, dist/sriov-lab-cni.mjs) and the single-executable entry (sea.ts). No top-level await:
// the single executable's script is CommonJS.
import { readFileSync } from 'node:fs';
import { runPlugin } from './plugin.ts';
import { startTiming, step, timingLine } from './timing.ts';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    // no stdin at all (closed or a TTY that hung up) reads as an empty config
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EOF') return '';
    throw e;
  }
}

export function runCni(): void {
  startTiming();
  const stdin = readStdin();
  step('stdin');
  runPlugin({ env: process.env, stdin }).then(
    (out) => {
      const t = timingLine();
      if (t) process.stderr.write(t);
      process.stdout.write(out.stdout, () => process.exit(out.exitCode));
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
