// mulberry32: the one small seeded PRNG every simulated random choice derives from (device picking, tie-breaking,
// test-case generation), so a run with the same seed makes the same choices.
//
// The state is kept as a signed 32-bit integer (`| 0`), not the unsigned one (`>>> 0`) of the usual listing: the same
// bits and so the same stream, but a value V8 holds unboxed, where an unsigned one above 2^31 is a heap number
// allocated at every draw.
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
