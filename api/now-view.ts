// "Now" without the database: each station's recent readings in memory, kept current from the
// ingest stream (onReadings) and rebuilt from InfluxDB at start (rebuild); the city snapshot and a
// station's latest reading are computed from it with the InfluxQL path's rules (api/snapshot.ts).
import { HOUR_MS, type Latest } from '../contracts/api.ts';
import { PARAMETERS, type StationKind } from '../contracts/parameters.ts';
import { isUsable, type ParameterQuality, type StationStatus } from '../contracts/quality.ts';
import type { LiveReading, Reading } from '../contracts/reading.ts';
import type { Registry, Station } from '../contracts/stations.ts';
import type { InfluxHttp } from '../ingest/influx/influx-http.ts';
import { quoteIdent } from '../ingest/influx/influx-http.ts';
import { AQI_POLLUTANTS, type HourMeans, type Scale } from './aqi.ts';
import { LATEST_LOOKBACK_MS, rowToLatest, seriesRows, snapshotCollection, snapshotFeature, type SnapshotFeature } from './snapshot.ts';

/** The values a kind's snapshot needs over a trailing window, and how long that window is. */
const WINDOWS: Readonly<Record<StationKind, { readonly params: readonly string[]; readonly spanMs: number }>> = {
  air: { params: AQI_POLLUTANTS, spanMs: 12 * HOUR_MS },
  rain: { params: ['rain_mm'], spanMs: 24 * HOUR_MS },
  flood: { params: ['level_m'], spanMs: HOUR_MS },
  water: { params: [], spanMs: 0 },
};
/** Full readings kept per station for `latest` (a few, so one stamped ahead of the clock does not hide the one before). */
const RECENT_KEPT = 4;
/** How long a snapshot computed at the clock's time is reused while no reading of its kind arrives (ages are in whole seconds). */
const MEMO_MS = 1000;

interface RecentReading {
  readonly ts: number;
  readonly seq?: number | undefined;
  readonly values: Record<string, number>;
  readonly quality?: Readonly<Record<string, ParameterQuality>> | undefined;
  /** Station status when not measuring. */
  readonly status?: StationStatus | undefined;
}

/**
 * One station's window as columns (ts ascending), plus its newest readings. A point is one reading
 * or, when a station sends faster than its interval, the readings of one bucket (its interval, at
 * most a minute) merged: `cols` holds each parameter's sum and `ns` how many values it sums (0 =
 * absent, the sum then NaN), `ts` the newest reading's time. So the window holds at most one point
 * per bucket whatever the rate (a gateway sending 80 readings a second for a station grew it by
 * ~45 MB a minute before).
 */
interface StationState {
  readonly station: Station;
  /** Bucket of merged readings, ms. */
  readonly bucketMs: number;
  readonly ts: number[];
  readonly cols: number[][];
  readonly ns: number[][];
  recent: RecentReading[];
}

export interface NowView {
  /** Readings as they become durable (the ingest stream); late and repeated ones are merged in time order. */
  onReadings(readings: readonly Reading[]): void;
  /** Loads the last reading (30 days) and each kind's window per station from InfluxDB; merges with what the stream brought meanwhile. */
  rebuild(influx: InfluxHttp, nowMs?: number): Promise<void>;
  /** True once a rebuild has completed: before that, callers use the InfluxQL path. */
  ready(): boolean;
  /** At `nowMs` when given; else at the clock's time, reused for up to a second while no reading of the kind arrived. */
  snapshot(kind: StationKind, scale: Scale, nowMs?: number): ReturnType<typeof snapshotCollection>;
  /** The station's newest reading; undefined when the view holds none (older than 30 days, or never). */
  latest(stationId: string): LiveReading | undefined;
  stats(): { stations: number; values: number };
}

export interface NowViewOptions {
  readonly registry: Registry;
  /** Clock for pruning; the snapshot takes its own `nowMs`. */
  readonly now?: () => number;
}

/** First index whose ts is > t (binary search over an ascending array). */
function upperBound(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createNowView(opts: NowViewOptions): NowView {
  const clock = opts.now ?? Date.now;
  const states = new Map<string, StationState>();
  for (const s of opts.registry.stations) {
    const params = WINDOWS[s.kind].params;
    states.set(s.id, { station: s, bucketMs: Math.min(60_000, s.intervalS * 1000), ts: [], cols: params.map(() => []), ns: params.map(() => []), recent: [] });
  }
  let isReady = false;
  /** Snapshots computed at the clock's time, reused for up to MEMO_MS while no reading of their kind arrived. */
  const memo = new Map<string, { atMs: number; snapshot: ReturnType<typeof snapshotCollection> }>();
  const touched = (kind: StationKind) => {
    for (const key of memo.keys()) if (key.startsWith(`${kind}:`)) memo.delete(key);
  };

  /** Drops window values that no snapshot can use any more (amortised: only once the head is 10 min past the span). */
  function prune(st: StationState, nowMs: number): void {
    const horizon = nowMs - WINDOWS[st.station.kind].spanMs;
    if (st.ts.length === 0 || st.ts[0]! > horizon - 10 * 60_000) return;
    const cut = upperBound(st.ts, horizon);
    st.ts.splice(0, cut);
    for (const c of st.cols) c.splice(0, cut);
    for (const c of st.ns) c.splice(0, cut);
  }

  /** A point with the same station and time overwrites the fields it carries, as in InfluxDB. */
  function addWindow(st: StationState, ts: number, values: Readonly<Record<string, unknown>>): void {
    const params = WINDOWS[st.station.kind].params;
    if (!params.some((p) => typeof values[p] === 'number')) return;
    const at = upperBound(st.ts, ts);
    const value = (p: string) => (typeof values[p] === 'number' ? values[p] : NaN);
    if (at > 0 && st.ts[at - 1] === ts) {
      // The same time again: it overwrites what a single reading carried (a merged point already
      // holds its newest reading: a retransmission of it changes nothing).
      params.forEach((p, i) => {
        if (typeof values[p] !== 'number' || st.ns[i]![at - 1]! > 1) return;
        st.cols[i]![at - 1] = values[p];
        st.ns[i]![at - 1] = 1;
      });
      return;
    }
    if (at === st.ts.length) {
      const last = at - 1;
      if (last >= 0 && Math.floor(ts / st.bucketMs) === Math.floor(st.ts[last]! / st.bucketMs)) {
        // A second reading in the newest point's bucket: merged into it.
        st.ts[last] = ts;
        params.forEach((p, i) => {
          if (typeof values[p] !== 'number') return;
          const n = st.ns[i]![last]!;
          st.cols[i]![last] = n > 0 ? st.cols[i]![last]! + values[p] : values[p];
          st.ns[i]![last] = n + 1;
        });
        return;
      }
      // In time order (the usual case): append.
      st.ts.push(ts);
      params.forEach((p, i) => {
        const v = value(p);
        st.cols[i]!.push(v);
        st.ns[i]!.push(Number.isNaN(v) ? 0 : 1);
      });
      return;
    }
    st.ts.splice(at, 0, ts);
    params.forEach((p, i) => {
      const v = value(p);
      st.cols[i]!.splice(at, 0, v);
      st.ns[i]!.splice(at, 0, Number.isNaN(v) ? 0 : 1);
    });
  }

  function addRecent(st: StationState, r: RecentReading): void {
    const same = st.recent.findIndex((x) => x.ts === r.ts);
    if (same >= 0) {
      const old = st.recent[same]!;
      st.recent[same] = { ts: r.ts, seq: r.seq ?? old.seq, values: { ...old.values, ...r.values }, quality: r.quality ?? old.quality, status: r.status ?? old.status };
      return;
    }
    if (st.recent.length >= RECENT_KEPT && r.ts < st.recent[0]!.ts) return;
    st.recent.push(r);
    st.recent.sort((a, b) => a.ts - b.ts);
    if (st.recent.length > RECENT_KEPT) st.recent.shift();
  }

  const kindValues = (kind: StationKind, values: Readonly<Record<string, unknown>>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const p of Object.keys(PARAMETERS[kind])) if (typeof values[p] === 'number') out[p] = values[p];
    return out;
  };

  /** The window (AQI, rain totals, river trend) takes usable values only, as the InfluxQL path (contracts/quality.ts). */
  function add(st: StationState, r: RecentReading, nowMs: number): void {
    if (r.ts > nowMs - WINDOWS[st.station.kind].spanMs && isUsable(r)) {
      const usable = Object.keys(r.quality ?? {}).some((p) => !isUsable(r, p)) ? Object.fromEntries(Object.entries(r.values).filter(([p]) => isUsable(r, p))) : r.values;
      addWindow(st, r.ts, usable);
    }
    addRecent(st, r);
    prune(st, nowMs);
  }

  const toLatest = (r: RecentReading): Latest => ({
    ts: new Date(r.ts).toISOString(),
    values: { ...r.values },
    ...(r.quality ? { quality: { ...r.quality } } : {}),
    ...(r.status ? { status: r.status } : {}),
  });

  /** Trailing 60-minute windows ending at nowMs: index 0 = (now − 1 h, now], as the InfluxQL GROUP BY time(1h, offset). */
  function airHours(st: StationState, nowMs: number): (HourMeans | undefined)[] {
    const hours: (HourMeans | undefined)[] = [];
    let end = upperBound(st.ts, nowMs);
    for (let ago = 0; ago < 12; ago++) {
      const start = upperBound(st.ts, nowMs - (ago + 1) * HOUR_MS);
      let means: HourMeans | undefined;
      for (let p = 0; p < AQI_POLLUTANTS.length; p++) {
        const col = st.cols[p]!;
        const ns = st.ns[p]!;
        let sum = 0;
        let n = 0;
        for (let i = start; i < end; i++) {
          if (ns[i]! > 0) {
            sum += col[i]!;
            n += ns[i]!;
          }
        }
        if (n > 0) (means ??= {})[AQI_POLLUTANTS[p]!] = sum / n;
      }
      hours.push(means);
      end = start;
    }
    return hours;
  }

  function sumOver(st: StationState, fromExclusive: number, toInclusive: number): number | undefined {
    let sum = 0;
    let n = 0;
    const end = upperBound(st.ts, toInclusive);
    for (let i = upperBound(st.ts, fromExclusive); i < end; i++) {
      if (st.ns[0]![i]! > 0) {
        sum += st.cols[0]![i]!;
        n++;
      }
    }
    return n > 0 ? sum : undefined;
  }

  function feature(st: StationState, scale: Scale, nowMs: number): SnapshotFeature {
    const s = st.station;
    let newest: RecentReading | undefined;
    for (const r of st.recent) if (r.ts <= nowMs && r.ts > nowMs - LATEST_LOOKBACK_MS) newest = r;
    const latest = newest ? toLatest(newest) : null;
    if (s.kind === 'air') return snapshotFeature(s, latest, { hours: airHours(st, nowMs) }, scale, nowMs);
    if (s.kind === 'rain') return snapshotFeature(s, latest, { rainMm1h: sumOver(st, nowMs - HOUR_MS, nowMs), rainMm24h: sumOver(st, nowMs - 24 * HOUR_MS, nowMs) }, scale, nowMs);
    if (s.kind === 'flood' && s.floodType === 'river') {
      const lastHour: Record<string, unknown>[] = [];
      const end = upperBound(st.ts, nowMs);
      for (let i = upperBound(st.ts, nowMs - HOUR_MS); i < end; i++) if (st.ns[0]![i]! > 0) lastHour.push({ time: st.ts[i], level_m: st.cols[0]![i]! / st.ns[0]![i]! });
      return snapshotFeature(s, latest, { lastHour }, scale, nowMs);
    }
    return snapshotFeature(s, latest, {}, scale, nowMs);
  }

  async function rebuildKind(influx: InfluxHttp, kind: StationKind, nowMs: number): Promise<void> {
    const m = quoteIdent(kind);
    const { params, spanMs } = WINDOWS[kind];
    const statements = [`SELECT * FROM ${m} WHERE time > ${nowMs - LATEST_LOOKBACK_MS}ms GROUP BY "station" ORDER BY time DESC LIMIT ${RECENT_KEPT}`];
    if (params.length > 0) statements.push(`SELECT ${params.map(quoteIdent).join(', ')} FROM ${m} WHERE time > ${nowMs - spanMs}ms GROUP BY "station"`);
    const [latestSeries, windowSeries] = await influx.query(statements.join('; '));
    for (const series of latestSeries ?? []) {
      const st = states.get(series.tags?.station ?? '');
      if (!st || st.station.kind !== kind) continue;
      for (const row of seriesRows(series)) {
        const l = rowToLatest(kind, row);
        addRecent(st, { ts: row.time as number, seq: typeof row.seq === 'number' ? row.seq : undefined, values: l.values, quality: l.quality, status: l.status });
      }
    }
    for (const series of windowSeries ?? []) {
      const st = states.get(series.tags?.station ?? '');
      if (!st || st.station.kind !== kind) continue;
      for (const row of seriesRows(series)) addWindow(st, row.time as number, row);
    }
  }

  return {
    onReadings(readings) {
      const nowMs = clock();
      for (const r of readings) {
        const st = states.get(r.stationId);
        if (!st) continue;
        add(st, { ts: r.ts, seq: r.seq, values: kindValues(st.station.kind, r.values), quality: r.quality, status: r.status }, nowMs);
        touched(st.station.kind);
      }
    },
    async rebuild(influx, nowMs = clock()) {
      for (const kind of ['air', 'water', 'rain', 'flood'] as const) await rebuildKind(influx, kind, nowMs);
      memo.clear();
      isReady = true;
    },
    ready: () => isReady,
    snapshot(kind, scale, at) {
      const nowMs = at ?? clock();
      const key = `${kind}:${scale}`;
      const hit = memo.get(key);
      if (at === undefined && hit && nowMs - hit.atMs < MEMO_MS && nowMs >= hit.atMs) return hit.snapshot;
      const features: SnapshotFeature[] = [];
      for (const st of states.values()) if (st.station.kind === kind) features.push(feature(st, scale, nowMs));
      const snapshot = snapshotCollection(kind, features, nowMs);
      if (at === undefined) memo.set(key, { atMs: nowMs, snapshot });
      return snapshot;
    },
    latest(stationId) {
      const st = states.get(stationId);
      const r = st?.recent.at(-1);
      if (!st || !r) return undefined;
      return {
        type: 'reading',
        station: stationId,
        kind: st.station.kind,
        ts: new Date(r.ts).toISOString(),
        ...(r.seq === undefined ? {} : { seq: r.seq }),
        values: { ...r.values },
        ...(r.quality ? { quality: { ...r.quality } } : {}),
        ...(r.status ? { status: r.status } : {}),
      };
    },
    stats() {
      let values = 0;
      for (const st of states.values()) values += st.ts.length * st.cols.length + st.recent.length;
      return { stations: states.size, values };
    },
  };
}
