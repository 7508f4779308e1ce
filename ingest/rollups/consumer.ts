// The rollup consumer: `onReadings` marks the (station, hour) buckets that stored readings touch;
// `flush` recomputes them FROM THE RAW DATA IN INFLUXDB, then the days and AQI hours that depend on
// them, and writes the rollup points (same measurement, tags and time: a replay overwrites, never
// duplicates). Ordering contract: onReadings is called only for readings InfluxDB has stored.
//
//   dirty hours ──▶ raw rows (one query per station and day) ──▶ {kind}_1h
//        └──▶ days + AQI hours they feed ──▶ stored {kind}_1h of those days ──▶ {kind}_1d, aqi_1h, aqi_1d
import { DAY_MS, HOUR_MS, hanoiDayStart, hourStart, statsMeasurement } from '../../contracts/rollups.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import { quoteIdent, quoteString, type InfluxHttp, type InfluxSeries } from '../influx/influx-http.ts';
import { dailyAqiAt, dayRollup, hourlyAqiAt, hourRollup, type BucketRollup } from './compute.ts';
import { createDirtySet, type DirtySet } from './dirty-set.ts';
import type { RawRow } from './exclusion.ts';
import { aqiLine, rollupFromRow, rollupLine } from './points.ts';
import { timeSlicer, type UrgentWork } from '../consumers/time-slice.ts';

export interface RollupConsumerDeps {
  readonly registry: Registry;
  /** Reads raw readings (its retention policy / bucket is the raw one). */
  readonly raw: InfluxHttp;
  /** Reads and writes rollups (retention policy / bucket of the rollups). */
  readonly rollups: InfluxHttp;
  /** Journal of pending buckets (survives a crash); undefined = memory only. */
  readonly dirtyPath?: string | undefined;
  /** The pending buckets kept elsewhere (cluster mode: kv-dirty-set.ts); instead of `dirtyPath`. */
  readonly dirty?: DirtySet | undefined;
  readonly now?: () => number;
  /** Stations recomputed per round of queries (bounds memory and statements per request). */
  readonly stationsPerRound?: number;
  /**
   * The raw rows one round aims to read (default 50,000): stations whose hours hold many rows (a
   * station reporting every second) go fewer to a round, so a round's memory stays bounded.
   */
  readonly rowsPerRound?: number;
  /**
   * A station's open hour (the current clock hour, still filling) is recomputed at most this often,
   * ms (default 0: at every flush); closed hours at every flush. Each recompute reads the whole hour
   * so far, so without a bound a fast station's hour costs O(rows²) over the hour. The API reads
   * raw readings from the start of the previous hour on (api/rollup-queries.ts freshEdgeMs), so
   * only reports over the current hour see the bound, as an hour up to this much behind.
   */
  readonly openHourEveryMs?: number;
  /**
   * Values officers marked invalid (contracts/validations.ts): left out like failed ones. Called once
   * per round for the predicate of the marks in force.
   */
  readonly excluded?: (() => (stationId: string, parameter: string, tsMs: number) => boolean) | undefined;
  /** Work on this thread that goes first (the now lane): a round yields to it at each pause. */
  readonly yieldTo?: UrgentWork | undefined;
}

export interface FlushStats {
  readonly hours: number;
  readonly days: number;
  readonly points: number;
  readonly queries: number;
}

export interface RollupConsumer {
  /** Marks the buckets of readings InfluxDB has stored; resolves once the marks are durable. */
  onReadings(readings: Iterable<{ readonly stationId: string; readonly ts: number }>): Promise<void>;
  /** Recomputes every bucket marked before the call; a failure leaves them marked for the next flush. */
  flush(): Promise<FlushStats>;
  /** Buckets (station-hours) marked and not yet recomputed. */
  pending(): number;
}

const rowsOf = (s: InfluxSeries | undefined): RawRow[] =>
  s ? s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) as RawRow) : [];
const WRITE_LINES = 5000;

export function createRollupConsumer(deps: RollupConsumerDeps): RollupConsumer {
  const dirty: DirtySet = deps.dirty ?? createDirtySet(deps.dirtyPath);
  const now = deps.now ?? Date.now;
  const perRound = deps.stationsPerRound ?? 10;
  const rowsPerRound = deps.rowsPerRound ?? 50_000;
  const openHourEveryMs = deps.openHourEveryMs ?? 0;
  /** When each station's open hour was last recomputed (its start, and the time). */
  const openDone = new Map<string, { hourMs: number; atMs: number }>();
  /**
   * Rows a station's recompute is expected to read (sizes the rounds): the most of the rows its last
   * recompute read and the readings marked for it since.
   */
  const lastRows = new Map<string, number>();
  const markedSince = new Map<string, number>();
  const expectedRows = (stationId: string) => Math.max(lastRows.get(stationId) ?? 0, markedSince.get(stationId) ?? 0);
  let queries = 0;

  /**
   * Rows with the officer-excluded values made invalid (the row's other values still count). NaN, not
   * null: the value was stored, so an hour whose every value is excluded still writes count 0 and
   * overwrites the figures an earlier flush stored for it (null reads as "no such field").
   */
  function withoutExcluded(station: Station, rows: RawRow[]): RawRow[] {
    const exclude = deps.excluded?.();
    if (!exclude) return rows;
    return rows.map((r) => {
      let out: Record<string, unknown> | undefined;
      for (const p of Object.keys(r)) {
        if (typeof r[p] === 'number' && p !== 'time' && exclude(station.id, p, r.time)) (out ??= { ...r })[p] = Number.NaN;
      }
      return (out as RawRow | undefined) ?? r;
    });
  }

  async function queryAll(statements: string[], http: InfluxHttp): Promise<InfluxSeries[][]> {
    if (statements.length === 0) return [];
    queries++;
    return http.query(statements.join(';\n'));
  }

  async function writeAll(lines: string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += WRITE_LINES) await deps.rollups.write(lines.slice(i, i + WRITE_LINES).join('\n'));
  }

  /** Contiguous runs of hours within one Hanoi day: [fromMs, toMs). */
  function runsOf(hours: number[]): [number, number][] {
    const runs: [number, number][] = [];
    for (const h of hours.sort((a, b) => a - b)) {
      const last = runs.at(-1);
      if (last && last[1] === h && hanoiDayStart(h) === hanoiDayStart(last[0])) last[1] = h + HOUR_MS;
      else runs.push([h, h + HOUR_MS]);
    }
    return runs;
  }

  /** The days whose daily rollups (and AQI hours whose index) depend on the dirty hours. */
  function dependents(station: Station, hours: number[]): { days: Set<number>; aqiHours: Set<number> } {
    const days = new Set<number>();
    const aqiHours = new Set<number>();
    const lastHour = hourStart(now());
    for (const h of hours) {
      days.add(hanoiDayStart(h));
      if (station.kind !== 'air') continue;
      for (let i = 0; i < 12 && h + i * HOUR_MS <= lastHour; i++) aqiHours.add(h + i * HOUR_MS); // NowCast looks 11 hours back
      if (h + 7 * HOUR_MS <= lastHour) days.add(hanoiDayStart(h + 7 * HOUR_MS)); // O₃ 8 h of the next day
    }
    for (const a of aqiHours) days.add(hanoiDayStart(a));
    return { days, aqiHours };
  }

  async function recomputeRound(group: [Station, number[]][]): Promise<{ hours: number; days: number; points: number }> {
    // 1. Hours from raw rows.
    const statements: string[] = [];
    const owners: [Station, [number, number]][] = [];
    for (const [station, hours] of group) {
      for (const run of runsOf([...hours])) {
        statements.push(`SELECT * FROM ${quoteIdent(station.kind)} WHERE "station" = ${quoteString(station.id)} AND time >= ${run[0]}ms AND time < ${run[1]}ms`);
        owners.push([station, run]);
      }
    }
    const results = await queryAll(statements, deps.raw);
    const rowsOfStation = new Map<string, number>();
    for (const [i, [station]] of owners.entries()) rowsOfStation.set(station.id, (rowsOfStation.get(station.id) ?? 0) + (results[i]?.[0]?.values.length ?? 0));
    for (const [id, n] of rowsOfStation) lastRows.set(id, n);
    const hourLines: string[] = [];
    let hoursDone = 0;
    // Sliced: the lanes and the API share this thread (see ../consumers/time-slice.ts).
    const slice = timeSlicer({ yieldTo: deps.yieldTo });
    for (const [i, [station, [from, to]]] of owners.entries()) {
      if (slice.due()) await slice.pause();
      const rows = withoutExcluded(station, rowsOf(results[i]?.[0]));
      for (let h = from; h < to; h += HOUR_MS) {
        const line = rollupLine(station, '1h', hourRollup(station, h, rows));
        if (line) hourLines.push(line);
        hoursDone++;
      }
    }
    await writeAll(hourLines); // read back below: InfluxDB answers queries from its cache at once

    // 2. Days and AQI hours from the stored hourly rollups (12 h before each day for NowCast).
    const dayStatements: string[] = [];
    const dayOwners: [Station, number, Set<number>][] = [];
    for (const [station, hours] of group) {
      const { days, aqiHours } = dependents(station, hours);
      for (const d of days) {
        dayStatements.push(`SELECT * FROM ${quoteIdent(statsMeasurement(station.kind, '1h'))} WHERE "station" = ${quoteString(station.id)} AND time >= ${d - 12 * HOUR_MS}ms AND time < ${d + DAY_MS}ms`);
        dayOwners.push([station, d, aqiHours]);
      }
    }
    const dayResults = await queryAll(dayStatements, deps.rollups);
    const dayLines: string[] = [];
    for (const [i, [station, d, aqiHours]] of dayOwners.entries()) {
      if (slice.due()) await slice.pause();
      const stored = new Map<number, BucketRollup>(rowsOf(dayResults[i]?.[0]).map((r) => [r.time, rollupFromRow(station, r)]));
      const inDay = [...stored.values()].filter((h) => h.startMs >= d);
      if (inDay.length === 0) continue;
      const day = rollupLine(station, '1d', dayRollup(station, d, inDay));
      if (day) dayLines.push(day);
      if (station.kind !== 'air') continue;
      // Written even when not computable (`none`): an index stored before must not outlive its data.
      dayLines.push(aqiLine(station, '1d', d, dailyAqiAt(d, stored)));
      // Also an hour without readings of its own: the NowCast needs only 2 of the 3 latest hours (EPA,
      // Decision 1459), as the API's raw path computes it. Hours no index can reach are skipped.
      for (const a of aqiHours) {
        if (a < d || a >= d + DAY_MS || ![0, 1, 2].some((i) => stored.has(a - i * HOUR_MS))) continue;
        dayLines.push(aqiLine(station, '1h', a, hourlyAqiAt(a, stored)));
      }
    }
    await writeAll(dayLines);
    return { hours: hoursDone, days: dayOwners.length, points: hourLines.length + dayLines.length };
  }

  async function flush(): Promise<FlushStats> {
    const { hours: marked, token } = dirty.take();
    const startQueries = queries;
    const startedMs = now();
    const openHour = hourStart(startedMs);
    const opened: [string, number][] = [];
    const hours = openHourEveryMs > 0 ? marked.filter(({ stationId, hourMs }) => {
      if (hourMs < openHour) return true;
      const done = openDone.get(stationId);
      if (done?.hourMs === hourMs && startedMs - done.atMs < openHourEveryMs) return false; // stays marked
      opened.push([stationId, hourMs]);
      return true;
    }) : marked;
    const byStation = new Map<Station, number[]>();
    for (const { stationId, hourMs } of hours) {
      const station = deps.registry.get(stationId);
      if (!station) continue; // no longer in the registry: nothing to roll up into
      let list = byStation.get(station);
      if (!list) byStation.set(station, (list = []));
      list.push(hourMs);
    }
    const all = [...byStation];
    let total = { hours: 0, days: 0, points: 0 };
    const estimates = all.map(([station]) => expectedRows(station.id));
    for (const [station] of all) markedSince.delete(station.id);
    for (let i = 0; i < all.length; ) {
      // As many stations as fit the round's rows (at least one, at most perRound).
      let n = 1;
      let rows = estimates[i]!;
      while (n < perRound && i + n < all.length && rows + estimates[i + n]! <= rowsPerRound) rows += estimates[i + n++]!;
      const r = await recomputeRound(all.slice(i, i + n));
      i += n;
      total = { hours: total.hours + r.hours, days: total.days + r.days, points: total.points + r.points };
    }
    await dirty.clear(token, hours.length === marked.length ? undefined : hours);
    for (const [stationId, hourMs] of opened) openDone.set(stationId, { hourMs, atMs: startedMs });
    return { ...total, queries: queries - startQueries };
  }

  return {
    onReadings(readings) {
      const list = [...readings];
      for (const r of list) markedSince.set(r.stationId, (markedSince.get(r.stationId) ?? 0) + 1);
      return dirty.mark(list);
    },
    flush,
    pending: () => dirty.size(),
  };
}
