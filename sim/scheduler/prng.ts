// A small seeded PRNG (mulberry32): every choice the scheduler and the cluster make at random derives from the run's
// seed, so a run can be reproduced exactly.

import { mulberry32 } from '../prng.ts';

export interface Rng {
  /** uniform in [0, 1) */
  next(): number;
  /** uniform integer in [0, n) */
  intn(n: number): number;
}

/** FNV-1a over the string form, so "42" and 42 give the same stream. */
export function seedToUint32(seed: number | string): number {
  const s = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function createRng(seed: number | string): Rng {
  const next = mulberry32(seedToUint32(seed));
  return { next, intn: (n: number) => Math.floor(next() * n) };
}
