// Hand-checked data for the report tests: November 2026 (Hanoi time) for one station of each kind,
// written straight into InfluxDB as raw readings; the expected figures are worked out in the comments.
export const MIN = 60_000;
export const HOUR = 3_600_000;
/** Start of Hanoi day `d` of November 2026 (00:00 UTC+7), epoch ms. */
export const novDay = (d: number): number => Date.UTC(2026, 10, d) - 7 * HOUR;

function hourOf(station: string, kind: string, start: number, n: number, everyMs: number, fields: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => `${kind},station=${station} ${fields(i)} ${start + i * everyMs}`);
}

/**
 * air-001 (1-minute interval: a valid hour needs 45 readings):
 * - Nov 1: PM2.5 30, PM10 40 all day; one PM2.5 9999 flagged `pm25:fail` at 05:00:30 (left out) → daily VN_AQI 60, moderate.
 * - Nov 2: PM2.5 60, PM10 120 → AQI 117 poor; PM2.5 24 h (45) and PM10 24 h (100) exceeded.
 * - Nov 3: PM2.5 20 for 17 hours only → insufficient (17 < 18 valid hours).
 * - Nov 4: PM2.5 10 in 18 full hours, 500 in 6 hours of 30 readings (coverage 0.5, not valid) → good.
 * - Nov 5: PM2.5 20; NO₂ 250 in 10:00–12:59, 50 otherwise → 3 hours over the 1 h limit 200; NO₂ daily
 *   mean 75 (not over 100); daily AQI from NO₂'s highest hour: 100 + 50/500 × 50 = 105, poor.
 * - Nov 6: PM2.5 20; O₃ 130 in 08:00–15:59, 50 otherwise → highest 8 h mean 130 > 120 (1 day);
 *   AQI from O₃ 8 h: 100 + 10/50 × 50 = 110, poor.
 * Days: good 1, moderate 1, poor 3, insufficient 25. PM2.5 mean of valid hours: (24·30 + 24·60 +
 * 17·20 + 18·10 + 48·20) / 131 = 3640 / 131 = 27.79 → 27.8 > 25; NO₂ 75 > 40; PM10 80 > 50.
 */
export function airNovember(station = 'air-001'): string[] {
  const lines: string[] = [];
  const day = (d: number, hours: number[], n: number, fields: (h: number) => string) => {
    for (const h of hours) lines.push(...hourOf(station, 'air', novDay(d) + h * HOUR, n, MIN, () => fields(h)));
  };
  const all = Array.from({ length: 24 }, (_, h) => h);
  day(1, all, 60, () => 'pm25=30,pm10=40');
  lines.push(`air,station=${station} pm25=9999,qc="pm25:fail" ${novDay(1) + 5 * HOUR + 30_000}`);
  day(2, all, 60, () => 'pm25=60,pm10=120');
  day(3, all.slice(0, 17), 60, () => 'pm25=20');
  day(4, all.slice(0, 18), 60, () => 'pm25=10');
  day(4, all.slice(18), 30, () => 'pm25=500');
  day(5, all, 60, (h) => `pm25=20,no2=${h >= 10 && h <= 12 ? 250 : 50}`);
  day(6, all, 60, (h) => `pm25=20,o3=${h >= 8 && h <= 15 ? 130 : 50}`);
  return lines;
}

/**
 * rain-001 (5-minute interval): Nov 10 14:00 12 × 2 mm = 24 mm, 15:00 12 × 1 mm = 12 mm; Nov 20 09:00
 * 12 × 0.5 mm = 6 mm. Total 42 mm; wettest hour 24 mm at 2026-11-10T07:00Z; wettest 24 h 36 mm, first
 * window starting 2026-11-09T09:00Z (Nov 9 16:00 Hanoi, ending with the 15:00 hour); 2 wet days.
 */
export function rainNovember(): string[] {
  return [
    ...hourOf('rain-001', 'rain', novDay(10) + 14 * HOUR, 12, 5 * MIN, () => 'rain_mm=2,interval_s=300'),
    ...hourOf('rain-001', 'rain', novDay(10) + 15 * HOUR, 12, 5 * MIN, () => 'rain_mm=1,interval_s=300'),
    ...hourOf('rain-001', 'rain', novDay(20) + 9 * HOUR, 12, 5 * MIN, () => 'rain_mm=0.5,interval_s=300'),
  ];
}

/**
 * flood-longbien (5-minute interval, levels I 9.5, II 10.5, III 11.5), Nov 15 from 00:00 Hanoi:
 * hours 0–1 at 9.0 m, hour 2 at 9.6, hour 3 at 10.6 with 10.9 at 03:25 (the peak, level II), hour 4
 * at 9.6, hour 5 at 9.0. Hours at or above I: 3; II: 1; III: 0. Peak 10.9 m at 2026-11-14T20:25Z.
 */
export function floodNovember(): string[] {
  const levels = [9.0, 9.0, 9.6, 10.6, 9.6, 9.0];
  return levels.flatMap((l, h) => hourOf('flood-longbien', 'flood', novDay(15) + h * HOUR, 12, 5 * MIN, (i) => `level_m=${h === 3 && i === 5 ? 10.9 : l}`));
}

/**
 * water-001 (designated class B, 5-minute interval), Nov 8 all day: pH 7.0, DO 5.5, BOD₅ 5, COD 12,
 * NH₄⁺ 0.4 → class B (A fails on BOD₅ ≤ 4, COD ≤ 10, DO ≥ 6), meets B; NH₄⁺ over 0.3.
 */
export function waterNovember(): string[] {
  return Array.from({ length: 24 }, (_, h) => hourOf('water-001', 'water', novDay(8) + h * HOUR, 12, 5 * MIN, () => 'ph=7,do_mgl=5.5,bod5_mgl=5,cod_mgl=12,nh4_mgl=0.4')).flat();
}

/** The hourly rollups (README › Rollups) of `airNovember` for another station, as the rollup writer stores them. */
export function airNovemberRollups(station: string): string[] {
  const byHour = new Map<number, Map<string, number[]>>();
  for (const line of airNovember(station)) {
    if (line.includes('qc=')) continue; // left out by the exclusion predicate
    const [, fields, ts] = line.split(' ') as [string, string, string];
    const hour = Math.floor(Number(ts) / HOUR) * HOUR;
    const h = byHour.get(hour) ?? new Map<string, number[]>();
    for (const f of fields.split(',')) {
      const [k, v] = f.split('=') as [string, string];
      h.set(k, [...(h.get(k) ?? []), Number(v)]);
    }
    byHour.set(hour, h);
  }
  return [...byHour].map(([hour, params]) => {
    const fields = [...params].flatMap(([p, vs]) => [
      `${p}_mean=${vs.reduce((a, b) => a + b, 0) / vs.length}`,
      `${p}_min=${Math.min(...vs)}`,
      `${p}_max=${Math.max(...vs)}`,
      `${p}_count=${vs.length}i`,
      `${p}_coverage=${Math.min(1, vs.length / 60)}`,
    ]);
    return `air_1h,station=${station} ${fields.join(',')} ${hour}`;
  });
}
