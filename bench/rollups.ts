// Rollups benchmark (issue #13): 500 stations with a year of hourly data and 30 days of 1-minute data
// stored (--quick: 50 stations, 30 days, the last 2 at 1 minute); p50/p95 of a 1-year daily series served from the daily rollups beside the same series
// computed from raw readings (source=raw), both over HTTP in the same run; then a 31-day backtest of
// the whole registry through POST /api/alerts/backtest: peak heap and RSS while it runs, and the
// PUBACK latency of a steady QoS 1 publisher during it beside the same publisher without it; and a
// station's monthly report (the last whole month) from the hourly rollups beside the same report
// computed from the raw readings, on the same data, in process (api/reports/build-report.ts).
// Called by bench/run.ts (`npm run bench -- --only=rollups [--quick]`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { setUser } from '../api/auth.ts';
import { fields, measure, pct, type Latency as SeriesLatency } from './api.ts';
import { setGatewayPassword } from '../broker/gateway-credentials.ts';
import { formatRegistry, generateRegistry } from '../contracts/registry/generate-stations.ts';
import { DAY_MS, HOUR_MS, hourStart } from '../contracts/rollups.ts';
import type { Station } from '../contracts/stations.ts';
import { stationReadingTopic } from '../contracts/topics.ts';
import { rebuildRollups } from '../ingest/rollups/rebuild.ts';
import { BACKTEST_WORKER_HEAP_MB } from '../ingest/alerts/backtest-off-thread.ts';
import { buildReport } from '../api/reports/build-report.ts';
import { createHourlySource } from '../api/reports/hourly-source.ts';
import { hanoiMonthLabel, parsePeriod } from '../api/reports/period.ts';
import { parseConfig } from '../server/config.ts';
import { startQuantrac } from '../server/create-quantrac.ts';

export interface RollupBenchOptions {
  readonly influxUrl: string;
  readonly quick: boolean;
  /** Stations of the generated registry (default 500; --quick 50): `npm run bench -- --only=rollups --stations=N`. */
  readonly stations?: number | undefined;
  readonly log: (line: string) => void;
}

interface Latency { n: number; p50Ms: number; p95Ms: number; p99Ms: number }

const latency = (xs: number[]): Latency => ({ n: xs.length, p50Ms: +pct(xs, 50).toFixed(1), p95Ms: +pct(xs, 95).toFixed(1), p99Ms: +pct(xs, 99).toFixed(1) });

export async function benchRollups(o: RollupBenchOptions): Promise<{ result: object; markdown: string }> {
  const nStations = o.stations ?? (o.quick ? 50 : 500);
  const hourlyDays = o.quick ? 30 : 365;
  const minuteDays = o.quick ? 2 : 30;
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-bench-rollups-'));
  const file = generateRegistry({ scale: Math.max(nStations, 238) });
  const stations = file.stations.slice(0, nStations);
  writeFileSync(join(dir, 'stations.json'), formatRegistry({ ...file, stations }));
  const database = `bench_rollups_${Date.now()}`;
  const config = parseConfig({
    INFLUX_URL: o.influxUrl,
    INFLUX_DATABASE: database,
    REGISTRY_PATH: join(dir, 'stations.json'),
    DATA_DIR: join(dir, 'data'),
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    API_RATE_LIMIT_PER_MIN: '100000000',
    API_CACHE_TTL_MS: '0',
    API_MAX_RANGE_DAYS: '400', // so the raw reference of a 1-year series is allowed at all
    LOG_LEVEL: 'silent',
  });
  const password = 'bench-operator-password';
  await setUser(config.apiUsersPath, 'bench', 'operator', password);
  const gateway = stations[0]!.gatewayId;
  const gwPassword = await setGatewayPassword(config.credentialsPath, gateway);
  const q = await startQuantrac(config, pino({ level: 'silent' }));
  try {
    const nowMs = Date.now();
    const minuteFrom = hourStart(nowMs) - minuteDays * DAY_MS;
    const yearFrom = minuteFrom - (hourlyDays - minuteDays) * DAY_MS;
    o.log(`rollups: writing ${hourlyDays - minuteDays} days of hourly and ${minuteDays} days of 1-minute data for ${stations.length} stations…`);
    let points = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const res = await fetch(`${o.influxUrl}/write?db=${database}&precision=ms`, { method: 'POST', body: batch.join('\n') });
      if (res.status !== 204) throw new Error(`InfluxDB write failed: ${res.status} ${await res.text()}`);
      points += batch.length;
      batch = [];
    };
    const tags = (s: Station) => `${s.kind},station=${s.id}`;
    for (let t = yearFrom, i = 0; t < minuteFrom; t += HOUR_MS, i += 60) {
      for (const s of stations) batch.push(`${tags(s)} ${fields(s, i)} ${t}`);
      if (batch.length >= 20_000) await flush();
    }
    for (let t = minuteFrom, i = 0; t < nowMs; t += 60_000, i++) {
      for (const s of stations) batch.push(`${tags(s)} ${fields(s, i)} ${t}`);
      if (batch.length >= 20_000) await flush();
    }
    await flush();

    o.log(`rollups: building rollups from ${points.toLocaleString('en-US')} raw points…`);
    const buildT0 = performance.now();
    // Setup, not a figure of the issue: three rebuilds over disjoint stations at once (stations are independent).
    const groups = [0, 1, 2].map((g) => stations.filter((_, i) => i % 3 === g).map((s) => s.id));
    const parts = await Promise.all(groups.map((stationIds) => rebuildRollups({ registry: q.registry, raw: q.influx, rollups: q.rollupInflux, fromMs: yearFrom, toMs: nowMs, stationIds })));
    const built = parts.reduce((a, b) => ({ hours: a.hours + b.hours, days: a.days + b.days, points: a.points + b.points, queries: a.queries + b.queries }));
    const buildS = (performance.now() - buildT0) / 1000;

    const http = q.urls().http;
    const airIds = stations.filter((s) => s.kind === 'air').map((s) => s.id);
    const requests = o.quick ? 40 : 200;
    const series = (source: string) => {
      let k = 0;
      return measure(requests, 10, async () => {
        const res = await fetch(`${http}/api/stations/${airIds[k++ % airIds.length]}/readings?from=${yearFrom}&to=${nowMs}&every=1d${source}`);
        if (res.status !== 200) throw new Error(`series: HTTP ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { source: string };
        if (source === '' && body.source !== 'daily') throw new Error(`expected the daily rollups, got ${body.source}`);
      });
    };
    o.log(`rollups: ${hourlyDays}-day daily series from the rollups, then from raw readings…`);
    const fromRollups = await series('');
    const fromRaw = await series('&source=raw');

    // A station's monthly report of the last whole Hanoi month, from the hourly rollups and from raw readings.
    const month = hanoiMonthLabel(parsePeriod(hanoiMonthLabel(nowMs)).fromMs - 1);
    const reportFrom = { rollups: createHourlySource({ influx: q.influx, rollups: q.rollupInflux }), raw: createHourlySource({ influx: q.influx, useRollups: false }) };
    const report = (source: keyof typeof reportFrom, id: string) => buildReport(q.registry, reportFrom[source], 'station', id, month, nowMs);
    const sameFigures: string[] = [];
    for (const s of stations.slice(0, 8)) {
      const [a, b] = [await report('rollups', s.id), await report('raw', s.id)];
      if (a.stations[0]?.source !== 'rollups' || b.stations[0]?.source !== 'raw') throw new Error(`monthly report of ${s.id}: read ${a.stations[0]?.source} and ${b.stations[0]?.source}, not rollups and raw`);
      const figures = (r: typeof a) => JSON.stringify(r.stations.map(({ source: _s, ...rest }) => rest));
      if (figures(a) === figures(b)) sameFigures.push(s.id);
    }
    o.log(`rollups: monthly report (${month}) from the rollups, then from raw readings…`);
    const reportTimed = (source: keyof typeof reportFrom) => {
      let k = 0;
      return measure(requests, 10, async () => void (await report(source, stations[(k++ * 7) % stations.length]!.id)));
    };
    const monthlyRollups = await reportTimed('rollups');
    const monthlyRaw = await reportTimed('raw');

    // PUBACK latency of a steady QoS 1 publisher, without and then during a 31-day backtest.
    const client = await mqtt.connectAsync(q.urls().mqtt, { clientId: gateway, username: gateway, password: gwPassword, protocolVersion: 4, reconnectPeriod: 0 });
    const station = stations.find((s) => s.gatewayId === gateway)!;
    const pubacks = async (until: () => boolean): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; !until() || out.length < 20; i++) {
        const t0 = performance.now();
        await client.publishAsync(stationReadingTopic(station.id), JSON.stringify({ ts: Date.now(), values: valuesOf(station, i) }), { qos: 1 });
        out.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      return out;
    };
    o.log('rollups: PUBACK latency without a backtest…');
    const quietUntil = Date.now() + (o.quick ? 5_000 : 20_000);
    const quiet = latency(await pubacks(() => Date.now() > quietUntil));

    const token = ((await (await fetch(`${http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench', password }) })).json()) as { token: string }).token;
    const btFrom = nowMs - 31 * DAY_MS + 60_000;
    o.log('rollups: 31-day backtest of the whole registry, PUBACK latency meanwhile…');
    let done = false;
    let peakHeapMb = 0;
    let peakRssMb = 0;
    const heapBefore = process.memoryUsage();
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeapMb = Math.max(peakHeapMb, m.heapUsed / 2 ** 20);
      peakRssMb = Math.max(peakRssMb, m.rss / 2 ** 20);
    }, 100);
    const btT0 = performance.now();
    const backtest = fetch(`${http}/api/alerts/backtest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: new Date(btFrom).toISOString(), to: new Date(nowMs).toISOString() }),
    }).then(async (res) => {
      const body = (await res.json()) as { readings?: number; error?: string };
      done = true;
      if (res.status !== 200) throw new Error(`backtest: HTTP ${res.status} ${JSON.stringify(body)}`);
      return body.readings ?? 0;
    });
    const during = latency(await pubacks(() => done));
    const replayed = await backtest;
    const backtestS = (performance.now() - btT0) / 1000;
    clearInterval(sampler);
    // The backtest worker's own heap peak, sampled in the server (quantrac_backtest_worker_heap_peak_bytes).
    const exposition = await (await fetch(`${http}/metrics`)).text();
    const peakBytes = Number(/^quantrac_backtest_worker_heap_peak_bytes (\S+)$/m.exec(exposition)?.[1]);
    const workerPeakHeapMb = Number.isFinite(peakBytes) && peakBytes > 0 ? peakBytes / 2 ** 20 : undefined;
    await client.endAsync();

    const result = {
      stations: stations.length, hourlyDays, minuteDays, pointsStored: points,
      rollupBuild: { seconds: +buildS.toFixed(1), stationHours: built.hours, points: built.points, queries: built.queries },
      series1yDaily: { fromRollups, fromRaw, p50Ratio: +(fromRollups.p50Ms / fromRaw.p50Ms).toFixed(3) },
      monthlyReport: { month, fromRollups: monthlyRollups, fromRaw: monthlyRaw, p50Ratio: +(monthlyRollups.p50Ms / monthlyRaw.p50Ms).toFixed(3), sameFiguresChecked: 8, sameFigures: sameFigures.length },
      backtest31d: {
        readings: replayed, seconds: +backtestS.toFixed(1),
        mainHeapBeforeMb: +(heapBefore.heapUsed / 2 ** 20).toFixed(0), mainHeapPeakMb: +peakHeapMb.toFixed(0), rssPeakMb: +peakRssMb.toFixed(0),
        workerPeakHeapMb: workerPeakHeapMb === undefined ? null : +workerPeakHeapMb.toFixed(0),
        pubackQuiet: quiet, pubackDuring: during, p99Ratio: +(during.p99Ms / quiet.p99Ms).toFixed(2),
      },
    };
    const f = (l: Latency) => `${l.p50Ms} | ${l.p95Ms} | ${l.p99Ms}`;
    const g = (l: SeriesLatency) => `${l.p50Ms} | ${l.p95Ms}`;
    const markdown = [
      `# Rollups — ${new Date().toISOString().slice(0, 10)}${o.quick ? ' (quick)' : ''}`,
      '',
      `${stations.length} stations, ${hourlyDays - minuteDays} days of hourly and ${minuteDays} days of 1-minute data: ${points.toLocaleString('en-US')} raw points. Rollups built from them by \`npm run rollups\`'s code (3 station groups at once) in ${buildS.toFixed(1)} s (${built.hours.toLocaleString('en-US')} station-hours, ${built.points.toLocaleString('en-US')} rollup points).`,
      '',
      `${hourlyDays}-day daily series of an air station over HTTP, 10 requests in flight, cache off (${requests} requests each):`,
      '',
      '| source | p50 ms | p95 ms |',
      '|---|---|---|',
      `| daily rollups (default) | ${g(fromRollups)} |`,
      `| raw readings (\`source=raw\`, reference) | ${g(fromRaw)} |`,
      '',
      `Rollups p50 ÷ raw p50: **${result.series1yDaily.p50Ratio}**.`,
      '',
      `Monthly report (${month}) of a station, built in process (api/reports/build-report.ts), 10 in flight (${requests} reports each); the first 8 stations' reports from both sources have the same figures: ${sameFigures.length} of 8.`,
      '',
      '| source | p50 ms | p95 ms |',
      '|---|---|---|',
      `| hourly rollups (default) | ${g(monthlyRollups)} |`,
      `| raw readings, GROUP BY time(1h) (reference) | ${g(monthlyRaw)} |`,
      '',
      `Rollups p50 ÷ raw p50: **${result.monthlyReport.p50Ratio}**.`,
      '',
      `31-day backtest of the whole registry (POST /api/alerts/backtest, worker thread): ${replayed.toLocaleString('en-US')} readings replayed in ${backtestS.toFixed(1)} s. Server process: broker thread (the one that acknowledges) heap ${result.backtest31d.mainHeapBeforeMb} MB before, peak ${result.backtest31d.mainHeapPeakMb} MB during; peak RSS (all threads) ${result.backtest31d.rssPeakMb} MB; backtest worker's heap: ${result.backtest31d.workerPeakHeapMb === null ? 'not measured (no quantrac_backtest_worker_heap_peak_bytes in /metrics)' : `peak ${result.backtest31d.workerPeakHeapMb} MB`} (ceiling ${BACKTEST_WORKER_HEAP_MB} MB).`,
      '',
      '| QoS 1 publisher, one reading per 20 ms | PUBACK p50 ms | p95 ms | p99 ms |',
      '|---|---|---|---|',
      `| no backtest (reference) | ${f(quiet)} |`,
      `| during the backtest | ${f(during)} |`,
    ].join('\n');
    return { result, markdown };
  } finally {
    await q.stop();
    await fetch(`${o.influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${database}"`)}`, { method: 'POST' }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function valuesOf(s: Station, i: number): Record<string, number> {
  return Object.fromEntries(fields(s, i).split(',').map((kv) => { const [k, v] = kv.split('='); return [k!, Number(v)]; }));
}
