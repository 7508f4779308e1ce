// Reads the stored readings of a past window back from InfluxDB for a backtest: one InfluxQL query
// per station kind and day (measurement = kind; tags station/district/ward; a field per parameter),
// turned back into Readings in time order. Quality flags (`qc`) are carried over; `seq` is kept.
import type { Reading, QualityFlag } from '../../contracts/reading.ts';
import { PARAMETERS, STATION_KINDS, type StationKind } from '../../contracts/parameters.ts';
import type { Registry } from '../../contracts/stations.ts';
import { quoteIdent, quoteString, type InfluxHttp } from '../influx/influx-http.ts';
import { backtest, type BacktestReport } from './backtest.ts';
import type { RulesFile } from './rules.ts';

export interface BacktestWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** Only these stations (default: all of the registry). */
  readonly stationIds?: readonly string[] | undefined;
}

const DAY_MS = 86_400_000;

export async function readStoredReadings(influx: InfluxHttp, registry: Registry, w: BacktestWindow): Promise<Reading[]> {
  const wanted = w.stationIds ? new Set(w.stationIds) : undefined;
  const kinds = new Set<StationKind>();
  for (const s of registry.stations) if (!wanted || wanted.has(s.id)) kinds.add(s.kind);
  const stationClause = wanted ? ` AND (${[...wanted].map((id) => `"station" = ${quoteString(id)}`).join(' OR ')})` : '';
  const out: Reading[] = [];
  for (const kind of STATION_KINDS) {
    if (!kinds.has(kind)) continue;
    const params = Object.keys(PARAMETERS[kind]);
    const fields = [...params, 'seq', 'qc'].map(quoteIdent).join(', ');
    for (let from = w.fromMs; from < w.toMs; from += DAY_MS) {
      const to = Math.min(w.toMs, from + DAY_MS);
      const q = `SELECT ${fields}, "station" FROM ${quoteIdent(kind)} WHERE time >= ${from}ms AND time < ${to}ms${stationClause}`;
      const [series = []] = await influx.query(q);
      for (const s of series) {
        const col = new Map(s.columns.map((c, i) => [c, i]));
        for (const row of s.values) {
          const stationId = row[col.get('station')!];
          if (typeof stationId !== 'string' || !registry.get(stationId)) continue;
          const values: Record<string, number> = {};
          for (const p of params) {
            const v = row[col.get(p)!];
            if (typeof v === 'number') values[p] = v;
          }
          if (Object.keys(values).length === 0) continue;
          const seq = row[col.get('seq')!];
          const qc = row[col.get('qc')!];
          out.push({
            stationId,
            kind,
            ts: Number(row[col.get('time')!]),
            values,
            ...(typeof seq === 'number' ? { seq } : {}),
            ...(typeof qc === 'string' && qc !== '' ? { quality: parseQc(qc) } : {}),
          });
        }
      }
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

function parseQc(qc: string): Record<string, QualityFlag> {
  return Object.fromEntries(qc.split(',').map((pair) => pair.split(':') as [string, QualityFlag]));
}

/** The backtest report plus the window it covered. */
export interface StoredBacktestReport extends BacktestReport {
  readonly fromMs: number;
  readonly toMs: number;
}

/** Replays the stored readings of a window through `rules` (no effect on the running engine). */
export async function backtestStored(opts: { influx: InfluxHttp; registry: Registry; rules: RulesFile } & BacktestWindow): Promise<StoredBacktestReport> {
  const readings = await readStoredReadings(opts.influx, opts.registry, opts);
  // Silence is judged against arrival time, which the database does not keep: off in replays.
  const report = backtest({ rules: opts.rules, registry: opts.registry, readings, silence: false });
  return { ...report, fromMs: opts.fromMs, toMs: opts.toMs };
}
