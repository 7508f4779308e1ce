// Stateless, seeded randomness: every value is a pure function of (seed, key, index), so a
// reading can be recomputed at any simulated time without replaying the ones before it.

/** FNV-1a over a string: stable 32-bit key for station ids and signal names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A uniform number in [0, 1) from three integers (murmur3 finaliser mixing). */
export function hash01(seed: number, key: number, index: number): number {
  let h = (seed ^ Math.imul(key, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^ Math.imul(Math.floor(index / 4294967296), 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export const smoothstep = (x: number): number => {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
};

/**
 * Smooth value noise in [-1, 1] with the given period: neighbouring knots are independent, values
 * in between are eased, so the signal wanders without jumps.
 */
export function valueNoise(seed: number, key: number, tMs: number, periodMs: number): number {
  const x = tMs / periodMs;
  const i = Math.floor(x);
  const a = hash01(seed, key, i);
  const b = hash01(seed, key, i + 1);
  return (a + (b - a) * smoothstep(x - i)) * 2 - 1;
}

/** Standard normal deviate for one (key, index) pair (Box–Muller). */
export function gaussian(seed: number, key: number, index: number): number {
  const u = Math.max(hash01(seed, key, index), 1e-12);
  const v = hash01(seed, key ^ 0x5bd1e995, index);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gaussian bump centred on `mu` with width `sigma`, peak 1. */
export const bump = (x: number, mu: number, sigma: number): number => Math.exp(-((x - mu) ** 2) / (2 * sigma * sigma));

export const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

export const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};
