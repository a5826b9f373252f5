// Seeds. A run has one seed (uint32); each scenario gets its own, derived from the run seed and the scenario id, so a
// scenario run alone (`sriov-lab run its-file.yaml --seed N`) gets the same seed as inside the whole run, and adding
// or filtering scenarios never changes another scenario's choices.
import { randomInt } from 'node:crypto';

/** FNV-1a of "<runSeed>/<scenarioId>", then a murmur3 finaliser for avalanche; a uint32 */
export function scenarioSeed(runSeed: number, scenarioId: string): number {
  const s = `${runSeed >>> 0}/${scenarioId}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function randomSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

/** a --seed value: a decimal uint32 */
export function parseSeed(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}
