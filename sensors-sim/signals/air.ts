// Air quality: traffic-driven daily and weekly cycles, a night-time shallow boundary layer, a
// winter season, rain wash-out and temperature-inversion episodes (random in winter, forced in
// winter-smog). Values in µg/m³ (contracts/parameters.ts), °C and %.
import { type SignalContext, smogShape } from '../scenarios.ts';
import { DAY_MS, HOUR_MS, localHour, localWeekday, winterness } from './clock.ts';
import { bump, clamp, gaussian, hash01, round, valueNoise } from './noise.ts';
import { rainIntensityMmH, type Place } from './weather.ts';

export interface AirSite extends Place {
  readonly key: number;
  readonly rural: boolean;
}

/** Relative traffic volume 0.15–1: morning and evening rush hours, quieter weekends. */
export function trafficLevel(tMs: number): number {
  const h = localHour(tMs);
  const day = 0.35 * bump(h, 13, 4.5);
  const rush = 0.55 * bump(h, 7.75, 1.2) + 0.6 * bump(h, 18, 1.6);
  const weekday = localWeekday(tMs);
  const weekly = weekday === 0 ? 0.7 : weekday === 6 ? 0.85 : 1;
  return clamp(0.15 + (day + rush) * weekly, 0.15, 1);
}

/** Night-time accumulation under a shallow mixing layer (max ~3 am, min mid-afternoon). */
const boundaryLayer = (tMs: number): number => 1 + 0.3 * Math.cos((2 * Math.PI * (localHour(tMs) - 3)) / 24);

const EPISODE_BLOCK_MS = 5 * DAY_MS;

/** Random winter inversion episodes in the normal city: 0–1 strength. */
function naturalEpisode(ctx: SignalContext, tMs: number): number {
  const block = Math.floor(tMs / EPISODE_BLOCK_MS);
  let strength = 0;
  for (let b = block - 1; b <= block; b++) {
    const mid = b * EPISODE_BLOCK_MS + EPISODE_BLOCK_MS / 2;
    if (winterness(mid) < 0.5 || hash01(ctx.seed, 0xe915, b) > 0.35) continue;
    const start = b * EPISODE_BLOCK_MS + hash01(ctx.seed, 0xe916, b) * EPISODE_BLOCK_MS;
    const x = (tMs - start) / DAY_MS; // days into the episode: 1 day up, 1 day held, 1 day down
    if (x > 0 && x < 3) strength = Math.max(strength, x < 1 ? x : x < 2 ? 1 : 3 - x);
  }
  return 0.6 * strength;
}

export function airValues(ctx: SignalContext, site: AirSite, tMs: number): Record<string, number> {
  const { seed, key } = { seed: ctx.seed, key: site.key };
  const index = Math.floor(tMs / 1000);
  const base = (0.8 + 0.45 * hash01(seed, key, 0)) * (site.rural ? 0.8 : 1);
  const winter = winterness(tMs);
  const smog = smogShape(ctx, tMs);
  const season = smog > 0 ? Math.max(1.1 + 0.45 * winter, 1.5) : 1.1 + 0.45 * winter;
  const inversion = 1 + 2.6 * Math.max(smog, naturalEpisode(ctx, tMs));
  const traffic = trafficLevel(tMs);
  const bl = boundaryLayer(tMs);
  const rain = rainIntensityMmH(ctx, site, tMs);
  const washout = 1 / (1 + rain / 6);
  const cityDrift = 1 + 0.3 * valueNoise(seed, 0xc17, tMs, 9 * HOUR_MS);
  const jitter = (k: number, sd: number): number => 1 + sd * gaussian(seed, key + k, index);

  const pm25 = 40 * base * season * bl * (0.6 + 0.45 * traffic) * cityDrift * inversion * washout * jitter(1, 0.07);
  const pm10 = pm25 * (1.35 + 0.3 * hash01(seed, key, 1) + 0.15 * (1 - smog)) * jitter(2, 0.05);
  const no2 = (18 + 70 * traffic * bl) * base * (1 + 0.15 * winter) * (1 + 0.5 * (inversion - 1) / 2.6) * jitter(3, 0.08);
  const co = (500 + 1600 * traffic * bl) * base * (1 + 0.4 * (inversion - 1) / 2.6) * jitter(4, 0.08);
  const so2 = (7 + 8 * hash01(seed, key, 2)) * (1 + 0.25 * winter) * (1 + 0.3 * (inversion - 1)) * jitter(5, 0.1);
  const h = localHour(tMs);
  const sun = Math.max(0, Math.sin((Math.PI * (h - 6)) / 12));
  const o3 = (12 + 115 * sun ** 1.5 * (1 - 0.25 * winter) * (1 - 0.3 * traffic)) * jitter(6, 0.08);
  const tempC = 23 - 6.5 * winter + 3.5 * Math.cos((2 * Math.PI * (h - 14)) / 24) + 1.5 * valueNoise(seed, 0x7e3, tMs, 2 * DAY_MS) - (rain > 1 ? 2 : 0);
  const rh = 77 + 10 * Math.cos((2 * Math.PI * (h - 5)) / 24) + 6 * valueNoise(seed, 0x4e1, tMs, DAY_MS) + (rain > 0.5 ? 15 : 0);

  return {
    pm25: round(clamp(pm25, 1, 1400), 1),
    pm10: round(clamp(pm10, 2, 2900), 1),
    no2: round(clamp(no2, 2, 4900), 1),
    so2: round(clamp(so2, 1, 4900), 1),
    o3: round(clamp(o3, 1, 2900), 1),
    co: Math.round(clamp(co, 100, 190_000)),
    temp_c: round(clamp(tempC, 2, 45), 1),
    rh_pct: round(clamp(rh, 30, 100), 1),
  };
}
