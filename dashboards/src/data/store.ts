// The portal's station state: registry + latest readings + server-computed extras, loaded per kind
// from `GET /api/snapshot/:kind`, or, on a server without it, from the per-station endpoints.
// Live readings update it in place and notify the views.
import { AbsentError, getOptional, mapLimit, requestJson } from './api.ts';
import type { Buckets, Kind, Latest, LiveMessage, RiverGauge, ServerAqi, ServerFlood, Snapshot, Station } from './types.ts';

export interface StationState {
  readonly station: Station;
  latest: Latest | null;
  /** What the server computed, valid for the reading at `forTs`. */
  server: { forTs?: string; stale?: boolean; aqiVn?: ServerAqi | null; aqiUs?: ServerAqi | null; flood?: ServerFlood | null; rainMm1h?: number | null; rainMm24h?: number | null };
  /** River gauges: recent (epoch ms, metres) for the trend when the server gives none. */
  levels: { ts: number; v: number }[];
  /** Rain gauges: rainfall (mm) per reading or bucket over the last 24 h (fallback totals). */
  rain: { ts: number; mm: number }[];
}

const LEVEL_WINDOW_MS = 3 * 3_600_000;
const DAY_MS = 86_400_000;

export const isRiver = (s: Station): s is RiverGauge => s.kind === 'flood' && s.floodType === 'river';

/** No reading for more than 3 reporting intervals (as the snapshot contract): shown greyed. */
export function isStale(st: StationState, nowMs = Date.now()): boolean {
  if (!st.latest) return false;
  if (st.server.forTs === st.latest.ts && st.server.stale !== undefined) return st.server.stale;
  return nowMs - Date.parse(st.latest.ts) > 3 * st.station.intervalS * 1000;
}

/** Rainfall totals over the last hour and day; server totals when they describe the latest reading. */
export function rainTotals(st: StationState, nowMs = Date.now()): { mm1h: number; mm24h: number } | undefined {
  if (st.server.forTs && st.latest && st.server.forTs === st.latest.ts && st.server.rainMm24h != null) {
    return { mm1h: st.server.rainMm1h ?? 0, mm24h: st.server.rainMm24h };
  }
  if (st.rain.length === 0) return st.latest ? { mm1h: 0, mm24h: 0 } : undefined;
  const sum = (from: number) => st.rain.filter((r) => r.ts > from).reduce((a, r) => a + r.mm, 0);
  return { mm1h: sum(nowMs - 3_600_000), mm24h: sum(nowMs - DAY_MS) };
}

export interface Store {
  all(): StationState[];
  get(id: string): StationState | undefined;
  /** Loads the registry, then the given kinds (each at most once). */
  load(kinds: readonly Kind[]): Promise<void>;
  /** Loads the US AQI of the air stations from the server, when it offers it. */
  loadUsScale(): Promise<void>;
  applyLive(msg: LiveMessage): void;
  onChange(fn: (ids: readonly string[]) => void): () => void;
}

export function createStore(): Store {
  const states = new Map<string, StationState>();
  const listeners = new Set<(ids: readonly string[]) => void>();
  const loaded = new Map<string, Promise<void>>();
  const snapshotKinds = new Set<Kind>();
  const refetchTimers = new Map<Kind, ReturnType<typeof setTimeout>>();
  let registry: Promise<void> | undefined;
  const emit = (ids: readonly string[]) => listeners.forEach((l) => l(ids));

  const loadRegistry = () =>
    (registry ??= requestJson<{ stations: Station[] }>('/api/stations').then(({ stations }) => {
      for (const s of stations) states.set(s.id, { station: s, latest: null, server: {}, levels: [], rain: [] });
    }));

  function applySnapshot(kind: Kind, snap: Snapshot, us: boolean): void {
    for (const f of snap.features) {
      const p = f.properties;
      const st = states.get(p.id);
      if (!st) continue;
      if (p.latest && (!st.latest || p.latest.ts >= st.latest.ts)) st.latest = p.latest;
      const forTs = p.latest?.ts;
      if (us) st.server.aqiUs = p.aqi ?? null;
      else {
        st.server = { ...st.server, forTs, stale: p.stale, flood: p.flood ?? null, rainMm1h: p.rainMm1h ?? null, rainMm24h: p.rainMm24h ?? null };
        if (kind === 'air') st.server.aqiVn = p.aqi ?? null;
      }
    }
  }

  async function fetchSnapshot(kind: Kind, us = false): Promise<boolean> {
    const snap = await getOptional<Snapshot>(`/api/snapshot/${kind}${us ? '?scale=us' : ''}`);
    if (!snap || !Array.isArray(snap.features)) return false;
    applySnapshot(kind, snap, us);
    return true;
  }

  /** Older servers: the latest reading per station, plus history for river trends and rain totals. */
  async function fallback(kind: Kind): Promise<void> {
    const list = [...states.values()].filter((s) => s.station.kind === kind);
    const now = Date.now();
    await mapLimit(list, 8, async (st) => {
      const r = await requestJson<{ latest: Latest | null }>(`/api/stations/${st.station.id}/latest`).catch(() => ({ latest: null }));
      if (r.latest && (!st.latest || r.latest.ts >= st.latest.ts)) st.latest = r.latest;
      if (isRiver(st.station) || kind === 'rain') await loadHistory(st, now);
    });
  }

  async function loadHistory(st: StationState, now: number): Promise<void> {
    const span = isRiver(st.station) ? LEVEL_WINDOW_MS : DAY_MS;
    const b = await requestJson<Buckets>(`/api/stations/${st.station.id}/readings?from=${now - span}&to=${now + 60_000}&every=5m`).catch(() => undefined);
    if (!b) return;
    if (isRiver(st.station)) st.levels = b.buckets.flatMap((x) => (x.values.level_m?.mean != null ? [{ ts: Date.parse(x.ts), v: x.values.level_m.mean }] : []));
    else st.rain = b.buckets.flatMap((x) => (x.values.rain_mm?.mean != null ? [{ ts: Date.parse(x.ts), mm: x.values.rain_mm.mean * x.values.rain_mm.count }] : []));
  }

  async function loadKind(kind: Kind): Promise<void> {
    if (await fetchSnapshot(kind)) {
      snapshotKinds.add(kind);
      // The server's flood block carries the trend; history is still wanted when it does not.
      if (kind === 'flood') {
        const now = Date.now();
        await mapLimit([...states.values()].filter((s) => isRiver(s.station) && s.server.flood?.trendCmPerH == null), 4, (st) => loadHistory(st, now));
      }
    } else await fallback(kind);
    emit([...states.values()].filter((s) => s.station.kind === kind).map((s) => s.station.id));
  }

  return {
    all: () => [...states.values()],
    get: (id) => states.get(id),
    async load(kinds) {
      await loadRegistry();
      await Promise.all(
        kinds.map((k) => {
          let p = loaded.get(k);
          if (!p) {
            p = loadKind(k).catch((err: unknown) => {
              loaded.delete(k);
              throw err;
            });
            loaded.set(k, p);
          }
          return p;
        }),
      );
    },
    async loadUsScale() {
      await loadRegistry();
      if (await fetchSnapshot('air', true).catch((e: unknown) => (e instanceof AbsentError ? false : Promise.reject(e)))) emit([]);
    },
    applyLive(msg) {
      const st = states.get(msg.station);
      if (!st || (st.latest && msg.ts < st.latest.ts)) return;
      st.latest = { ts: msg.ts, values: msg.values, ...(msg.quality ? { quality: msg.quality } : {}), ...(msg.status ? { status: msg.status } : {}) };
      const ts = Date.parse(msg.ts);
      if (isRiver(st.station) && msg.values.level_m !== undefined) {
        st.levels = [...st.levels.filter((p) => p.ts > ts - LEVEL_WINDOW_MS), { ts, v: msg.values.level_m }];
      }
      if (msg.kind === 'rain' && msg.values.rain_mm !== undefined) {
        st.rain = [...st.rain.filter((p) => p.ts > ts - DAY_MS), { ts, mm: msg.values.rain_mm }];
        // Server totals no longer describe the latest reading; local totals take over until refetched.
      }
      emit([st.station.id]);
      // Let the server recompute what it owns (NowCast index, trend, totals) a little later.
      if (snapshotKinds.has(msg.kind) && !refetchTimers.has(msg.kind)) {
        refetchTimers.set(
          msg.kind,
          setTimeout(() => {
            refetchTimers.delete(msg.kind);
            void fetchSnapshot(msg.kind).then(() => emit([])).catch(() => undefined);
          }, 3000),
        );
      }
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
