// Assembles a report for a station, a ward or the city over a month or a year: hourly data from
// the source (rollups or raw), each station's figures from the pure report functions, and for an
// area the worst daily VN_AQI per day and the exceedances summed over its stations.
import { AQI_DAY_CATEGORIES, type Exceedance, type Report, type StationReport } from '../../contracts/reports-api.ts';
import { HOUR_MS } from '../../contracts/rollups.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import { ApiError } from '../errors.ts';
import { airReport, dailyCategories } from './air-report.ts';
import { floodReport } from './flood-report.ts';
import { RULES, type HourlySeries } from './hourly.ts';
import type { HourlySource } from './hourly-source.ts';
import { daysOf, monthsOf, parsePeriod, type ReportPeriod } from './period.ts';
import { rainReport } from './rain-report.ts';
import { waterReport } from './water-report.ts';

export type ReportScope = 'station' | 'ward' | 'city';

/** Hours read before the period: the O₃ 8-hour means ending in its first hours. */
const LOOKBACK_MS = 8 * HOUR_MS;
const STATIONS_PER_CHUNK = 20;

export function stationsOf(registry: Registry, scope: ReportScope, id: string | undefined): { stations: Station[]; id: string; name: string } {
  if (scope === 'city') return { stations: [...registry.stations], id: 'hanoi', name: 'Hà Nội' };
  if (!id) throw new ApiError('BAD_QUERY', `a ${scope} report needs "id" (${scope === 'station' ? 'the station id' : 'the ward name'})`);
  if (scope === 'station') {
    const s = registry.get(id);
    if (!s) throw new ApiError('STATION_NOT_FOUND', `no station ${id}`);
    return { stations: [s], id: s.id, name: s.name };
  }
  const stations = registry.stations.filter((s) => s.ward === id);
  if (stations.length === 0) throw new ApiError('NOT_FOUND', `no station in the ward or commune "${id}"`);
  return { stations, id, name: id };
}

export function stationReport(s: Station, series: HourlySeries, source: StationReport['source'], p: ReportPeriod, untilMs: number): StationReport {
  const base = { id: s.id, name: s.name, kind: s.kind, ward: s.ward, source };
  switch (s.kind) {
    case 'air':
      return { ...base, air: airReport(series, p.fromMs, untilMs) };
    case 'water':
      return { ...base, water: waterReport(series, s.waterClass, monthsOf(p), p.fromMs, untilMs) };
    case 'rain':
      return { ...base, rain: rainReport(series, monthsOf(p), p.fromMs, untilMs) };
    case 'flood':
      return { ...base, flood: floodReport(series, s.floodType === 'river' ? s.levelsM : undefined, p.fromMs, untilMs) };
  }
}

const worst = (cats: readonly string[]): string => {
  const judged = cats.filter((c) => c !== 'insufficient');
  return judged.length === 0 ? 'insufficient' : judged.reduce((a, b) => (AQI_DAY_CATEGORIES.indexOf(b as never) > AQI_DAY_CATEGORIES.indexOf(a as never) ? b : a));
};

/** Area summary: per day the worst station category (`perStation`: each air station's daily categories); exceedances summed over stations. */
export function areaSummary(perStation: readonly (readonly string[])[], reports: readonly StationReport[], days: readonly number[]): NonNullable<Report['summary']> {
  const airDaysByCategory = Object.fromEntries(AQI_DAY_CATEGORIES.map((c) => [c, 0])) as Record<(typeof AQI_DAY_CATEGORIES)[number], number>;
  days.forEach((_, i) => airDaysByCategory[worst(perStation.map((cats) => cats[i]!)) as keyof typeof airDaysByCategory]++);
  const sums = new Map<string, Exceedance & { stations: number }>();
  for (const r of reports) {
    for (const e of r.air?.exceedances ?? []) {
      const key = `${e.param}:${e.window}`;
      const acc = sums.get(key) ?? { ...e, count: 0, evaluated: 0, stations: 0 };
      sums.set(key, { ...acc, count: acc.count + e.count, evaluated: acc.evaluated + e.evaluated, stations: acc.stations + 1 });
    }
  }
  return { stations: reports.length, airDaysByCategory, exceedances: [...sums.values()] };
}

export async function buildReport(registry: Registry, source: HourlySource, scope: ReportScope, id: string | undefined, periodLabel: string, nowMs = Date.now()): Promise<Report> {
  const target = stationsOf(registry, scope, id);
  const p = parsePeriod(periodLabel);
  if (p.fromMs >= nowMs) throw new ApiError('BAD_QUERY', `the period ${periodLabel} has not begun`);
  const untilMs = Math.min(p.toMs, Math.floor(nowMs / HOUR_MS) * HOUR_MS);
  const reports: StationReport[] = [];
  const days = daysOf(p.fromMs, untilMs);
  const airDays: string[][] = [];
  for (const kind of ['air', 'water', 'rain', 'flood'] as const) {
    const ofKind = target.stations.filter((s) => s.kind === kind);
    // A chunk of stations at a time: their hourly series are dropped once their figures are out (a city-year report holds millions of hours).
    for (let i = 0; i < ofKind.length; i += STATIONS_PER_CHUNK) {
      const chunk = ofKind.slice(i, i + STATIONS_PER_CHUNK);
      const hours = await source.hourly(kind, chunk, p.fromMs - LOOKBACK_MS, untilMs);
      for (const s of chunk) {
        const h = hours.get(s.id) ?? { series: new Map(), source: 'none' as const };
        reports.push(stationReport(s, h.series, h.source, p, untilMs));
        if (kind === 'air' && scope !== 'station') airDays.push(dailyCategories(h.series, days));
      }
    }
  }
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    scope: { type: scope, id: target.id, name: target.name },
    period: { label: p.label, kind: p.kind, from: iso(p.fromMs), to: iso(p.toMs), until: iso(untilMs) },
    generatedAt: iso(nowMs),
    rules: { ...RULES },
    ...(scope === 'station' ? {} : { summary: areaSummary(airDays, reports, days) }),
    stations: reports,
  };
}
