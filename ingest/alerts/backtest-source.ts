// Streams the stored readings of a past window back from InfluxDB for a backtest: time-bounded
// rounds of InfluxQL (a statement per station kind; measurement = kind, tags station/district/ward,
// a field per parameter), each turned back into Readings in time order and replayed before the next
// is read. Quality flags (`qc`) are carried over; `seq` is kept.
import { qualityFromRow } from '../../contracts/quality.ts';
import type { Reading } from '../../contracts/reading.ts';
import { PARAMETERS, STATION_KINDS, type StationKind } from '../../contracts/parameters.ts';
import type { Registry } from '../../contracts/stations.ts';
import { quoteIdent, quoteString, type InfluxHttp, type InfluxSeries } from '../influx/influx-http.ts';
import { createBacktestRun, type BacktestReport, type BacktestReportOptions } from './backtest.ts';
import type { RulesFile } from './rules.ts';

export interface BacktestWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** Only these stations (default: all of the registry). */
  readonly stationIds?: readonly string[] | undefined;
}

/** Default length of one time-bounded query: an hour of the whole registry (~30,000 readings at 1-minute data). */
export const BACKTEST_CHUNK_MS = 3_600_000;

export interface StreamOptions {
  /** Time span of one round of queries (one statement per kind), ms. */
  readonly chunkMs?: number;
}

/**
 * The stored readings of a window, streamed: one time-bounded round of queries (a statement per
 * station kind, sent together) per `chunkMs`, each chunk sorted by time and yielded before the
 * next is read, so memory holds one chunk whatever the window's length.
 */
export async function* streamStoredReadings(influx: InfluxHttp, registry: Registry, w: BacktestWindow, o: StreamOptions = {}): AsyncGenerator<Reading[]> {
  const chunkMs = o.chunkMs ?? BACKTEST_CHUNK_MS;
  const wanted = w.stationIds ? new Set(w.stationIds) : undefined;
  const kinds = STATION_KINDS.filter((k) => registry.stations.some((s) => s.kind === k && (!wanted || wanted.has(s.id))));
  const stationClause = wanted ? ` AND (${[...wanted].map((id) => `"station" = ${quoteString(id)}`).join(' OR ')})` : '';
  for (let from = w.fromMs; from < w.toMs; from += chunkMs) {
    const to = Math.min(w.toMs, from + chunkMs);
    const statements = kinds.map((kind) => {
      const fields = [...Object.keys(PARAMETERS[kind]), 'seq', 'qc'].map(quoteIdent).join(', ');
      return `SELECT ${fields}, "station" FROM ${quoteIdent(kind)} WHERE time >= ${from}ms AND time < ${to}ms${stationClause}`;
    });
    if (statements.length === 0) return;
    const results = await influx.query(statements.join(';\n'));
    const chunk: Reading[] = [];
    kinds.forEach((kind, i) => {
      for (const s of results[i] ?? []) readingsOfSeries(s, kind, registry, chunk);
    });
    yield chunk.sort((a, b) => a.ts - b.ts);
  }
}

function readingsOfSeries(s: InfluxSeries, kind: StationKind, registry: Registry, out: Reading[]): void {
  const params = Object.keys(PARAMETERS[kind]);
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
    // Unusable values (station calibrating or faulty, QC fail) are stored apart and not read here.
    const quality = typeof qc === 'string' && qc !== '' ? qualityFromRow({ qc }, params) : {};
    out.push({
      stationId,
      kind,
      ts: Number(row[col.get('time')!]),
      values,
      ...(typeof seq === 'number' ? { seq } : {}),
      ...(Object.keys(quality).length > 0 ? { quality } : {}),
    });
  }
}

/** The backtest report plus the window it covered. */
export interface StoredBacktestReport extends BacktestReport {
  readonly fromMs: number;
  readonly toMs: number;
}

/** Replays the stored readings of a window through `rules`, chunk by chunk (no effect on the running engine). */
export async function backtestStored(opts: { influx: InfluxHttp; registry: Registry; rules: RulesFile; report?: BacktestReportOptions | undefined } & BacktestWindow & StreamOptions): Promise<StoredBacktestReport> {
  // Silence is judged against arrival time, which the database does not keep: off in replays.
  const run = createBacktestRun({ rules: opts.rules, registry: opts.registry, silence: false, ...opts.report });
  for await (const chunk of streamStoredReadings(opts.influx, opts.registry, opts, opts)) run.feed(chunk);
  return { ...run.report(), fromMs: opts.fromMs, toMs: opts.toMs };
}
