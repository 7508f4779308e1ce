// Rain as storm cells drifting across the city (plus the typhoon's rain bands in yagi-flood):
// intensity in mm/h at any place and time, recomputed from seeded cells, never stored.
import { type SignalContext, typhoonRainShape } from '../scenarios.ts';
import { HOUR_MS, winterness } from './clock.ts';
import { hash01, valueNoise } from './noise.ts';

const BLOCK_MS = 3 * HOUR_MS;
const CENTRE = { lat: 21.02, lon: 105.83 };
const KM_PER_DEG_LAT = 111;
const KM_PER_DEG_LON = 103.6; // 111 km × cos(21°)
const RAIN_KEY = 0x7a11;

export interface Place {
  readonly lat: number;
  readonly lon: number;
}

interface Cell {
  readonly bornMs: number;
  readonly lifeMs: number;
  readonly x0: number;
  readonly y0: number;
  readonly vxKmH: number;
  readonly vyKmH: number;
  readonly radiusKm: number;
  readonly peakMmH: number;
}

/**
 * Expected convective cells per 3 h. A cell leaves ~4–5 mm at a random point on average, so
 * 0.3 per block gives July's ~10 mm/day and 0.01 January's ~1 mm/day (Hanoi climate normals).
 */
function expectedCells(ctx: SignalContext, tMs: number): number {
  const wet = (1 - winterness(tMs)) / 2; // 0 in January, 1 in July
  return 0.01 + 0.13 * wet * wet + 2.5 * typhoonRainShape(ctx, tMs);
}
/** Share of the expected count taken by the k-th possible cell of a block (sums to 1). */
const CELL_SHARE = [0.5, 0.25, 0.15, 0.1] as const;

function cellsOfBlock(ctx: SignalContext, block: number): Cell[] {
  const blockStart = block * BLOCK_MS;
  const expected = expectedCells(ctx, blockStart + BLOCK_MS / 2);
  const cells: Cell[] = [];
  for (let k = 0; k < CELL_SHARE.length; k++) {
    const r = (i: number): number => hash01(ctx.seed, RAIN_KEY + k * 16 + i, block);
    if (r(0) >= expected * CELL_SHARE[k]!) continue;
    // Cells come mostly from the west-south-west and cross the city in 1–3 hours.
    const heading = ((20 + 60 * r(1)) * Math.PI) / 180; // direction of travel, from east, anticlockwise
    const speed = 15 + 25 * r(2);
    const lifeMs = (1 + 2.5 * r(3)) * HOUR_MS;
    const vx = speed * Math.cos(heading);
    const vy = speed * Math.sin(heading);
    const lifeH = lifeMs / HOUR_MS;
    const across = (r(4) * 2 - 1) * 25; // km off the city centre, perpendicular to the track
    cells.push({
      bornMs: blockStart + r(5) * BLOCK_MS,
      lifeMs,
      x0: -vx * lifeH * 0.5 - Math.sin(heading) * across,
      y0: -vy * lifeH * 0.5 + Math.cos(heading) * across,
      vxKmH: vx,
      vyKmH: vy,
      radiusKm: 3 + 9 * r(6),
      peakMmH: 8 + 70 * r(7) ** 2,
    });
  }
  return cells;
}

/** Rain intensity in mm/h at a place and time. */
export function rainIntensityMmH(ctx: SignalContext, place: Place, tMs: number): number {
  const x = (place.lon - CENTRE.lon) * KM_PER_DEG_LON;
  const y = (place.lat - CENTRE.lat) * KM_PER_DEG_LAT;
  const block = Math.floor(tMs / BLOCK_MS);
  let total = 0;
  for (let b = block - 1; b <= block; b++) {
    for (const c of cellsOfBlock(ctx, b)) {
      const ageMs = tMs - c.bornMs;
      if (ageMs < 0 || ageMs > c.lifeMs) continue;
      const ageH = ageMs / HOUR_MS;
      const dx = x - (c.x0 + c.vxKmH * ageH);
      const dy = y - (c.y0 + c.vyKmH * ageH);
      const life = Math.sin((Math.PI * ageMs) / c.lifeMs);
      total += c.peakMmH * life * Math.exp(-(dx * dx + dy * dy) / (2 * c.radiusKm * c.radiusKm));
    }
  }
  const typhoon = typhoonRainShape(ctx, tMs);
  if (typhoon > 0) {
    // Spiral rain bands: 3–13 mm/h everywhere, pulsing as bands pass (Yagi: ~200–350 mm in Hanoi).
    const band = 0.5 + 0.5 * valueNoise(ctx.seed, RAIN_KEY ^ 0xbad, tMs + x * 60_000, 1.5 * HOUR_MS);
    total += typhoon * (3 + 10 * band);
  }
  return total;
}

/** Rain in mm that fell over (tMs − intervalMs, tMs], by midpoint sampling. */
export function rainOverMm(ctx: SignalContext, place: Place, tMs: number, intervalMs: number): number {
  const samples = Math.max(3, Math.min(12, Math.round(intervalMs / 300_000)));
  let sum = 0;
  for (let i = 0; i < samples; i++) sum += rainIntensityMmH(ctx, place, tMs - ((i + 0.5) * intervalMs) / samples);
  return (sum / samples) * (intervalMs / HOUR_MS);
}
