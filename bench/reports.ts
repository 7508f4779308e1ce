// Report benchmark (issue #13): a station's monthly report p50/p95 read from hourly rollups beside
// the same report computed from raw readings with InfluxQL GROUP BY time(1h), in the same
// run, and a yearly report from rollups. Data: N stations (default 500) with a year of hourly
// rollups and the report month's raw readings at each station's interval, hourly-constant so both paths agree; the
// two reports are checked equal before timing. Called by bench/run.ts (--only=reports).
import { createRegistry, type Station } from '../contracts/stations.ts';
import { generateRegistry } from '../contracts/registry/generate-stations.ts';
import { statsMeasurement } from '../contracts/rollups.ts';
import { createInfluxHttp } from '../ingest/influx/influx-http.ts';
import { buildReport } from '../api/reports/build-report.ts';
import { createHourlySource } from '../api/reports/hourly-source.ts';
import { parsePeriod } from '../api/reports/period.ts';

export interface BenchReportsOptions {
  readonly influxUrl: string;
  readonly stations?: number;
  readonly requests?: number;
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

export interface Latency {
  readonly n: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

const HOUR = 3_600_000;
const MONTH = '2026-11';
const YEAR_FROM = '2025-12';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

async function measure(n: number, concurrency: number, once: (i: number) => Promise<void>): Promise<Latency> {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      await once(i);
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { n: times.length, p50Ms: Math.round(pct(times, 50) * 10) / 10, p95Ms: Math.round(pct(times, 95) * 10) / 10 };
}

/** One value per station, parameter and hour: the raw minutes of an hour all carry it. */
function fieldsAt(s: Station, hourMs: number): Record<string, number> {
  const w = Math.sin(hourMs / HOUR / 5 + s.id.length);
  switch (s.kind) {
    case 'air':
      return { pm25: Math.round(40 + 25 * w), pm10: Math.round(70 + 30 * w), no2: Math.round(50 + 20 * w), o3: Math.round(60 + 40 * w) };
    case 'water':
      return { ph: 7, do_mgl: 5 + Math.round(w), bod5_mgl: 5, cod_mgl: 12 };
    case 'rain':
      return { rain_mm: Math.max(0, Math.round(w * 2)) / 10 };
    case 'flood':
      return s.floodType === 'river' ? { level_m: Math.round((8 + 2 * w) * 100) / 100 } : { depth_cm: Math.max(0, Math.round(20 * w)) };
  }
}

export async function benchReports(o: BenchReportsOptions) {
  const log = o.log ?? (() => undefined);
  const nStations = o.stations ?? 500;
  const registry = createRegistry(generateRegistry({ scale: Math.max(nStations, 238) }));
  const stations = registry.stations.slice(0, nStations);
  const database = `bench_reports_${Date.now()}`;
  const influx = createInfluxHttp({ url: o.influxUrl, api: 'v1', database, timeoutMs: 120_000 });
  const admin = (q: string) => fetch(`${o.influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  await admin(`CREATE DATABASE "${database}"`);
  await admin(`CREATE RETENTION POLICY "rollups" ON "${database}" DURATION INF REPLICATION 1`);
  const write = async (lines: string[], rp?: string) => {
    const res = await fetch(`${o.influxUrl}/write?${new URLSearchParams({ db: database, precision: 'ms', ...(rp ? { rp } : {}) })}`, { method: 'POST', body: lines.join('\n') });
    if (res.status !== 204) throw new Error(`InfluxDB write failed: ${res.status} ${await res.text()}`);
  };
  try {
    const month = parsePeriod(MONTH);
    const yearFrom = parsePeriod(YEAR_FROM).fromMs;
    let rawPoints = 0;
    let rollupPoints = 0;
    log(`reports bench: ${stations.length} stations, a year of hourly rollups and ${MONTH} of raw readings at each station's interval`);
    for (const s of stations) {
      const rollups: string[] = [];
      for (let h = yearFrom; h < month.toMs; h += HOUR) {
        const f = fieldsAt(s, h);
        const n = Math.round(3600 / s.intervalS);
        const fields = Object.entries(f).flatMap(([p, v]) => [`${p}_mean=${v}`, `${p}_min=${v}`, `${p}_max=${v}`, `${p}_count=${n}i`, `${p}_coverage=1`, ...(p === 'rain_mm' ? [`rain_mm_sum=${v * n}`] : [])]);
        rollups.push(`${statsMeasurement(s.kind, '1h')},station=${s.id} ${fields.join(',')} ${h}`);
      }
      await write(rollups, 'rollups');
      rollupPoints += rollups.length;
      let raw: string[] = [];
      for (let h = month.fromMs; h < month.toMs; h += HOUR) {
        const f = Object.entries(fieldsAt(s, h)).map(([p, v]) => `${p}=${v}`).join(',');
        for (let t = h; t < h + HOUR; t += s.intervalS * 1000) raw.push(`${s.kind},station=${s.id} ${f} ${t}`);
        if (raw.length >= 20_000) {
          await write(raw);
          rawPoints += raw.length;
          raw = [];
        }
      }
      await write(raw);
      rawPoints += raw.length;
    }
    const rollupsDb = createInfluxHttp({ url: o.influxUrl, api: 'v1', database, retentionPolicy: 'rollups', timeoutMs: 120_000 });
    const fromRollups = createHourlySource({ influx, rollups: rollupsDb });
    const fromRaw = createHourlySource({ influx, useRollups: false });
    const nowMs = month.toMs + 24 * HOUR;
    // Both paths must give the same figures, else the comparison means nothing.
    for (const s of stations.slice(0, 8)) {
      const a = await buildReport(registry, fromRollups, 'station', s.id, MONTH, nowMs);
      const b = await buildReport(registry, fromRaw, 'station', s.id, MONTH, nowMs);
      const strip = (r: typeof a) => JSON.stringify(r.stations.map(({ source: _s, ...rest }) => rest));
      if (strip(a) !== strip(b)) throw new Error(`reports bench: ${s.id} differs between rollups and raw`);
      if (a.stations[0]?.source !== 'rollups' || b.stations[0]?.source !== 'raw') throw new Error('reports bench: a path read the wrong source');
    }
    const n = o.requests ?? 200;
    const c = o.concurrency ?? 10;
    const pick = (i: number) => stations[(i * 7) % stations.length]!.id;
    const monthlyRollups = await measure(n, c, async (i) => void (await buildReport(registry, fromRollups, 'station', pick(i), MONTH, nowMs)));
    log(`reports bench: monthly report from rollups p50 ${monthlyRollups.p50Ms} ms, p95 ${monthlyRollups.p95Ms} ms`);
    const monthlyRaw = await measure(n, c, async (i) => void (await buildReport(registry, fromRaw, 'station', pick(i), MONTH, nowMs)));
    log(`reports bench: monthly report from raw p50 ${monthlyRaw.p50Ms} ms, p95 ${monthlyRaw.p95Ms} ms`);
    const yearlyRollups = await measure(Math.max(10, Math.round(n / 4)), c, async (i) => void (await buildReport(registry, fromRollups, 'station', pick(i), '2026', nowMs)));
    log(`reports bench: yearly report from rollups p50 ${yearlyRollups.p50Ms} ms, p95 ${yearlyRollups.p95Ms} ms`);
    return { stations: stations.length, rawPoints, rollupPoints, month: MONTH, monthlyRollups, yearlyRollups, reference: { monthlyRaw } };
  } finally {
    await admin(`DROP DATABASE "${database}"`).catch(() => undefined);
  }
}
