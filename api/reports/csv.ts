// A report as CSV (RFC 4180): one figure per row in long form, so every kind and scope shares the
// columns: scope, period, station, kind, section, item, param, value, unit.
import type { Report, StationReport } from '../../contracts/reports-api.ts';

export const REPORT_CSV_COLUMNS = ['scope', 'scope_id', 'period', 'station', 'kind', 'section', 'item', 'param', 'value', 'unit'] as const;
type Row = [section: string, item: string, param: string, value: string | number | boolean | null, unit: string];

const cell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

function stationRows(r: StationReport): Row[] {
  const rows: Row[] = [['source', 'hourly_data', '', r.source, '']];
  const completeness = (c: { param: string; hours: number; validHours: number; validHourPct: number; days: number; validDays: number; validDayPct: number }[]) =>
    c.flatMap((x): Row[] => [
      ['completeness', 'valid_hours', x.param, x.validHours, `of ${x.hours} h`],
      ['completeness', 'valid_hour_pct', x.param, x.validHourPct, '%'],
      ['completeness', 'valid_days', x.param, x.validDays, `of ${x.days} d`],
      ['completeness', 'valid_day_pct', x.param, x.validDayPct, '%'],
    ]);
  if (r.air) {
    for (const [c, n] of Object.entries(r.air.daysByCategory)) rows.push(['vn_aqi_days', c, '', n, 'days']);
    for (const e of r.air.exceedances) rows.push([`exceedances_${e.window}`, `above_${e.limitUgM3}`, e.param, e.count, `${e.unit} of ${e.evaluated}`]);
    for (const a of r.air.annualMeans) rows.push(['annual_mean', `limit_${a.annualLimitUgM3}${a.complete ? '' : '_incomplete'}`, a.param, a.meanUgM3, 'µg/m³']);
    rows.push(...completeness(r.air.completeness));
  }
  if (r.water) {
    for (const m of r.water.months) {
      rows.push(['qcvn08_class', m.month, '', m.waterClass, `designated ${r.water.designatedClass}`]);
      for (const [p, v] of Object.entries(m.meansMgL)) rows.push(['monthly_mean', m.month, p, v, p === 'ph' ? '' : 'mg/L']);
    }
    rows.push(...completeness(r.water.completeness));
  }
  if (r.rain) {
    rows.push(['rain', 'total', 'rain_mm', r.rain.totalMm, 'mm'], ['rain', 'max_1h', 'rain_mm', r.rain.max1h?.mm ?? null, r.rain.max1h?.at ?? ''], ['rain', 'max_24h', 'rain_mm', r.rain.max24h?.mm ?? null, r.rain.max24h?.at ?? '']);
    for (const m of r.rain.months) rows.push([`rain_${m.month}`, 'total', 'rain_mm', m.totalMm, 'mm'], [`rain_${m.month}`, 'max_1h', 'rain_mm', m.max1h?.mm ?? null, m.max1h?.at ?? ''], [`rain_${m.month}`, 'max_24h', 'rain_mm', m.max24h?.mm ?? null, m.max24h?.at ?? ''], [`rain_${m.month}`, 'wet_days', 'rain_mm', m.wetDays, 'days']);
    rows.push(...completeness(r.rain.completeness));
  }
  if (r.flood) {
    for (const [k, h] of Object.entries(r.flood.hoursAbove)) rows.push(['hours_above', k, r.flood.floodType === 'river' ? 'level_m' : 'depth_cm', h, `h (≥ ${r.flood.thresholds[k]} ${r.flood.floodType === 'river' ? 'm' : 'cm'})`]);
    rows.push(['peak', r.flood.peak?.at ?? '', r.flood.floodType === 'river' ? 'level_m' : 'depth_cm', r.flood.peak?.value ?? null, r.flood.peak?.unit ?? '']);
    rows.push(...completeness(r.flood.completeness));
  }
  return rows;
}

export function reportCsv(report: Report): string {
  const lead = [report.scope.type, report.scope.id, report.period.label];
  const lines = [REPORT_CSV_COLUMNS.join(',')];
  for (const [c, n] of Object.entries(report.summary?.airDaysByCategory ?? {})) lines.push([...lead, '', 'air', 'area_vn_aqi_days', c, '', n, 'days'].map(cell).join(','));
  for (const e of report.summary?.exceedances ?? []) lines.push([...lead, '', 'air', `area_exceedances_${e.window}`, `above_${e.limitUgM3}`, e.param, e.count, `station-${e.unit} of ${e.evaluated}`].map(cell).join(','));
  for (const r of report.stations) for (const row of stationRows(r)) lines.push([...lead, r.id, r.kind, ...row].map(cell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
