// Rollups ↔ InfluxDB points: encoding rollups as line protocol (every field written each time, so
// a recomputed bucket overwrites the old point whole) and decoding stored hourly rollups back.
import { aqiFields, aqiMeasurement, hoursAboveField, statField, statsMeasurement, type RollupPeriod } from '../../contracts/rollups.ts';
import { FLOOD_LEVELS } from '../../contracts/standards/flood.ts';
import type { Station } from '../../contracts/stations.ts';
import { escapeTag } from '../sink/line-protocol.ts';
import { paramsOf, type AqiPair, type BucketRollup, type ParamStats } from './compute.ts';

const tagsOf = (s: Station) => `station=${escapeTag(s.id)},district=${escapeTag(s.formerDistrict)},ward=${escapeTag(s.ward)}`;
const str = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const num = (v: number) => (Number.isInteger(v) ? `${v}.0` : String(v)); // always a float field

export function rollupLine(station: Station, period: RollupPeriod, b: BucketRollup): string | undefined {
  const fields: string[] = [];
  for (const [p, s] of b.params) {
    fields.push(`${statField(p, 'count')}=${s.count}i`, `${statField(p, 'coverage')}=${num(s.coverage)}`);
    if (s.count === 0) continue;
    const st = s as ParamStats;
    fields.push(`${statField(p, 'mean')}=${num(st.mean)}`, `${statField(p, 'min')}=${num(st.min)}`, `${statField(p, 'max')}=${num(st.max)}`);
    if (station.kind === 'rain' && p === 'rain_mm') {
      fields.push(`${statField(p, 'sum')}=${num(st.sum)}`);
      if (period === '1d') fields.push(`${statField(p, 'max_1h')}=${num(st.maxHourSum ?? 0)}`);
    }
    if (station.kind === 'flood') fields.push(`${statField(p, 'max_at')}=${st.maxAt}i`);
    if (period === '1d') fields.push(`${statField(p, 'hours')}=${st.hours ?? 0}i`);
  }
  if (b.hoursAbove) for (const l of FLOOD_LEVELS) fields.push(`${hoursAboveField(l)}=${num(b.hoursAbove[l])}`);
  if (fields.length === 0) return undefined;
  return `${statsMeasurement(station.kind, period)},${tagsOf(station)} ${fields.join(',')} ${b.startMs}`;
}

/** The bucket's index on both scales; a scale not computable is written `none`, so it overwrites an index stored before. */
export function aqiLine(station: Station, period: RollupPeriod, startMs: number, aqi: AqiPair): string {
  const fields: string[] = [];
  for (const scale of ['vn', 'us'] as const) {
    const a = aqi[scale];
    const f = aqiFields(scale);
    if (!a) {
      fields.push(`${f.none}=true`);
      continue;
    }
    fields.push(`${f.value}=${num(a.value)}`, `${f.category}=${str(a.category)}`, `${f.colour}=${str(a.colour)}`, `${f.dominant}=${str(a.dominant)}`, `${f.detail}=${str(JSON.stringify(a))}`, `${f.none}=false`);
  }
  return `${aqiMeasurement(period)},${tagsOf(station)} ${fields.join(',')} ${startMs}`;
}

/** An hourly or daily rollup back from a stored row (`SELECT *` of a `{kind}_{period}` measurement). */
export function rollupFromRow(station: Station, row: Readonly<Record<string, unknown>>): BucketRollup {
  const params = new Map<string, ParamStats | { count: 0; coverage: 0 }>();
  const n = (k: string) => (typeof row[k] === 'number' ? (row[k] as number) : undefined);
  for (const p of paramsOf(station)) {
    const count = n(statField(p, 'count'));
    if (count === undefined) continue;
    if (count === 0) {
      params.set(p, { count: 0, coverage: 0 });
      continue;
    }
    const mean = n(statField(p, 'mean')) ?? 0;
    params.set(p, {
      mean, count,
      min: n(statField(p, 'min')) ?? mean,
      max: n(statField(p, 'max')) ?? mean,
      coverage: n(statField(p, 'coverage')) ?? 0,
      sum: n(statField(p, 'sum')) ?? mean * count,
      maxAt: n(statField(p, 'max_at')) ?? (row.time as number),
      ...(n(statField(p, 'hours')) !== undefined ? { hours: n(statField(p, 'hours')) } : {}),
      ...(n(statField(p, 'max_1h')) !== undefined ? { maxHourSum: n(statField(p, 'max_1h')) } : {}),
    });
  }
  const startMs = row.time as number;
  if (station.kind !== 'flood' || station.floodType !== 'river') return { startMs, params };
  return { startMs, params, hoursAbove: { I: n(hoursAboveField('I')) ?? 0, II: n(hoursAboveField('II')) ?? 0, III: n(hoursAboveField('III')) ?? 0 } };
}
