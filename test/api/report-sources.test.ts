// Reports read from the rollups quantrac computes give the same figures as reports computed from
// the raw readings, for every kind of station: the same raw data (dense and sparse hours, gaps,
// failed values, a calibration, a river gauge reporting faster than its interval) is rolled up by
// the real rollup code, then each station's report is built from both sources and compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../../api/reports/build-report.ts';
import { createHourlySource, type HourlySource } from '../../api/reports/hourly-source.ts';
import type { StationReport } from '../../contracts/reports-api.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';
import { rebuildRollups } from '../../ingest/rollups/rebuild.ts';
import { influxUrl, uniqueDatabase } from '../support/influx.ts';

const registry = loadRegistry();
const MIN = 60_000;
const HOUR = 60 * MIN;
/** Start of Hanoi day `d` of October 2026. */
const octDay = (d: number) => Date.UTC(2026, 9, d) - 7 * HOUR;
const NOW = Date.UTC(2026, 11, 1);
const STATIONS = ['air-001', 'water-001', 'rain-001', 'flood-longbien', 'street-001'] as const;

/** A smooth, rounded signal so neither path meets values that need more than two decimals. */
const wave = (t: number, base: number, amp: number, periodH: number) => Math.round((base + amp * Math.sin((t / HOUR) * ((2 * Math.PI) / periodH))) * 100) / 100;

function rawLines(): string[] {
  const lines: string[] = [];
  const every = (station: string, kind: string, from: number, to: number, stepMs: number, fields: (t: number, i: number) => string | undefined) => {
    for (let t = from, i = 0; t < to; t += stepMs, i++) {
      const f = fields(t, i);
      if (f) lines.push(`${kind},station=${station} ${f} ${t}`);
    }
  };
  // air-001 (60 s): three full days, a 90-minute gap, a failed PM2.5 now and then, 2 h calibrating.
  every('air-001', 'air', octDay(10), octDay(13), MIN, (t, i) => {
    if (t >= octDay(11) + 5 * HOUR && t < octDay(11) + 6.5 * HOUR) return undefined;
    const pm25 = wave(t, 45, 30, 17);
    const extra = i % 97 === 0 ? ',qc="pm25:fail"' : t >= octDay(12) + 9 * HOUR && t < octDay(12) + 11 * HOUR ? ',status="calibrating"' : '';
    return `pm25=${i % 97 === 0 ? 900 : pm25},pm10=${wave(t, 90, 50, 23)},no2=${wave(t, 120, 100, 9)},o3=${wave(t, 90, 60, 24)}${extra}`;
  });
  // water-001 (300 s): two weeks, hourly-sparse in the second.
  every('water-001', 'water', octDay(3), octDay(17), 5 * MIN, (t, i) => (t >= octDay(10) && i % 12 !== 0 ? undefined : `ph=${wave(t, 7.2, 0.6, 30)},do_mgl=${wave(t, 5.5, 1.2, 40)},bod5_mgl=${wave(t, 6, 3, 50)},cod_mgl=${wave(t, 14, 5, 35)},nh4_mgl=${wave(t, 0.3, 0.2, 20)}`));
  // rain-001 (300 s): a wet spell over two days with dry hours between.
  every('rain-001', 'rain', octDay(20), octDay(22), 5 * MIN, (t) => {
    const mm = Math.max(0, wave(t, 0.5, 2, 11));
    return `rain_mm=${mm},interval_s=300`;
  });
  // flood-longbien (300 s, levels 9.5 / 10.5 / 11.5): a flood wave; on day 25 the gauge reports every
  // minute (faster than its interval), on day 26 every 5 minutes with a 40-minute gap.
  every('flood-longbien', 'flood', octDay(25), octDay(26), MIN, (t) => `level_m=${wave(t - octDay(25), 9.8, 1.5, 14)}`);
  every('flood-longbien', 'flood', octDay(26), octDay(27), 5 * MIN, (t) => (t >= octDay(26) + 3 * HOUR && t < octDay(26) + 3 * HOUR + 40 * MIN ? undefined : `level_m=${wave(t - octDay(25), 9.8, 1.5, 14)}`));
  // street-001 (120 s): a street flooding and draining.
  every('street-001', 'flood', octDay(20), octDay(21), 2 * MIN, (t) => `depth_cm=${Math.max(0, Math.round(wave(t, 10, 40, 12)))}`);
  return lines;
}

let sources: { rollups: HourlySource; raw: HourlySource };
let db: string;

beforeAll(async () => {
  db = uniqueDatabase('reportsrc');
  const base = { url: influxUrl(), api: 'v1' as const, database: db, timeoutMs: 30_000, retentionPolicies: [{ name: 'autogen', durationHours: 0, isDefault: true }, { name: 'rollups', durationHours: 0 }] };
  const raw = createInfluxHttp({ ...base, retentionPolicy: 'autogen' });
  const rollups = createInfluxHttp({ ...base, retentionPolicy: 'rollups' });
  await raw.ensureDatabase();
  const lines = rawLines();
  for (let i = 0; i < lines.length; i += 5000) await raw.write(lines.slice(i, i + 5000).join('\n'));
  await rebuildRollups({ registry, raw, rollups, fromMs: octDay(1), toMs: octDay(32), stationIds: [...STATIONS] });
  sources = { rollups: createHourlySource({ influx: raw, rollups }), raw: createHourlySource({ influx: raw, useRollups: false }) };
}, 120_000);

afterAll(async () => {
  await fetch(`${influxUrl()}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }) }).catch(() => undefined);
});

const figures = (r: StationReport) => {
  const { source: _source, ...rest } = r;
  return rest;
};

describe('reports from the rollups and from raw readings', () => {
  for (const id of STATIONS) {
    it(`${id}: the same figures for October 2026`, async () => {
      const fromRollups = (await buildReport(registry, sources.rollups, 'station', id, '2026-10', NOW)).stations[0]!;
      const fromRaw = (await buildReport(registry, sources.raw, 'station', id, '2026-10', NOW)).stations[0]!;
      expect([fromRollups.source, fromRaw.source]).toEqual(['rollups', 'raw']);
      expect(figures(fromRollups)).toEqual(figures(fromRaw));
    });
  }

  it('the data set gives every kind something to judge (not an empty comparison)', async () => {
    const r = await buildReport(registry, sources.raw, 'city', undefined, '2026-10', NOW);
    const by = new Map(r.stations.map((s) => [s.id, s]));
    expect(by.get('air-001')!.air!.daysByCategory.insufficient).toBeLessThan(31);
    expect(by.get('air-001')!.air!.exceedances.some((e) => e.count > 0)).toBe(true);
    expect(by.get('water-001')!.water!.months[0]!.waterClass).toBeDefined();
    expect(by.get('rain-001')!.rain!.totalMm).toBeGreaterThan(0);
    expect(by.get('flood-longbien')!.flood!.hoursAbove!.II).toBeGreaterThan(0);
    expect(by.get('street-001')!.flood!.peak).toBeDefined();
  });
});
