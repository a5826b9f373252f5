// Delta debugging (Zeller's ddmin) over a step list: the smallest list found for which `fails` still holds, trying
// the removal of ever smaller chunks. `fails` re-runs a candidate (for the soak, on a fresh cluster), so the number of
// trials is bounded.

export interface ShrinkResult<T> {
  items: T[];
  trials: number;
  /** the trial budget ran out before the list was 1-minimal */
  exhausted: boolean;
}

export async function shrink<T>(items: readonly T[], fails: (candidate: T[]) => Promise<boolean>, maxTrials = 40): Promise<ShrinkResult<T>> {
  let current = [...items];
  let trials = 0;
  let n = 2;
  while (current.length >= 2) {
    const chunk = Math.ceil(current.length / n);
    let reduced = false;
    for (let start = 0; start < current.length; start += chunk) {
      if (trials >= maxTrials) return { items: current, trials, exhausted: true };
      const complement = [...current.slice(0, start), ...current.slice(start + chunk)];
      trials++;
      if (complement.length > 0 && (await fails(complement))) {
        current = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) break;
      n = Math.min(n * 2, current.length);
    }
  }
  return { items: current, trials, exhausted: false };
}
