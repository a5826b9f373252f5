// Step timer of one CNI call, for finding where the time goes: with SRIOV_LAB_CNI_TIMING=1 the plugin prints, on
// stderr as its last line, `sriov-lab-cni timing: {...}` — milliseconds per step, in order, summed by step name
// (node's own start-up, the bundle's load, each command run, the JavaScript between them). Off, it costs one
// comparison per step.
const enabled = process.env.SRIOV_LAB_CNI_TIMING === '1';
const steps = new Map<string, number>();
let last = 0;

/** Attributes the time since the previous step to `name`. */
export function step(name: string): void {
  if (!enabled) return;
  const now = performance.now();
  steps.set(name, (steps.get(name) ?? 0) + (now - last));
  last = now;
}

/** The first step: node's start-up (until its bootstrap completed) and the script's load after it. */
export function startTiming(): void {
  if (!enabled) return;
  const boot = performance.nodeTiming.bootstrapComplete;
  steps.set('node start-up', boot);
  last = boot;
  step('bundle load');
}

export const TIMING_PREFIX = 'sriov-lab-cni timing: ';

export function timingLine(): string | undefined {
  if (!enabled) return undefined;
  step('js');
  const out: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of steps) {
    out[k] = Math.round(v * 10) / 10;
    total += v;
  }
  out.total = Math.round(total * 10) / 10;
  return `${TIMING_PREFIX}${JSON.stringify(out)}\n`;
}
