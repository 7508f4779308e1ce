// Backtest at scale against a real influxd: the window is read in time-bounded rounds of queries
// and replayed chunk by chunk (memory holds one chunk, counted, not timed), the report equals the
// all-in-memory replay of the same readings, and the worker-thread run returns the same report.
import { describe, expect, it, beforeAll } from 'vitest';
import { loadRegistry } from '../../../contracts/stations.ts';
import type { Reading } from '../../../contracts/reading.ts';
import { backtest } from '../../../ingest/alerts/backtest.ts';
import { runBacktestOffThread } from '../../../ingest/alerts/backtest-off-thread.ts';
import { backtestStored, streamStoredReadings } from '../../../ingest/alerts/backtest-source.ts';
import { loadRules } from '../../../ingest/alerts/rules.ts';
import { createInfluxHttp, type InfluxHttp, type InfluxTarget } from '../../../ingest/influx/influx-http.ts';
import { influxUrl, uniqueDatabase } from '../../support/influx.ts';

const registry = loadRegistry();
const rules = loadRules();
const T0 = Date.parse('2026-09-07T00:00:00Z');
const HOUR = 3_600_000;
const HOURS = 48;
const airStations = registry.stations.filter((s) => s.kind === 'air').slice(0, 40);
let target: InfluxTarget;
let influx: InfluxHttp;
const written: Reading[] = [];

/** Counts queries and the widest time bound of any statement (a spy at the HTTP seam, the database is real). */
function counting(inner: InfluxHttp) {
  const seen = { queries: 0, widestMs: 0 };
  const http: InfluxHttp = {
    ...inner,
    async query(q) {
      seen.queries++;
      for (const m of q.matchAll(/time >= (\d+)ms AND time < (\d+)ms/g)) seen.widestMs = Math.max(seen.widestMs, Number(m[2]) - Number(m[1]));
      return inner.query(q);
    },
  };
  return { http, seen };
}

beforeAll(async () => {
  target = { url: influxUrl(), api: 'v1', database: uniqueDatabase('bt'), timeoutMs: 10_000 };
  influx = createInfluxHttp(target);
  await influx.ensureDatabase();
  const lines: string[] = [];
  // Long Biên rises 9.0 → 11.2 m and falls back over the two days (every 5 min); 40 air stations
  // every 5 min, PM2.5 above the QCVN limit for a few hours at one of them.
  for (let i = 0; i < HOURS * 12; i++) {
    const ts = T0 + i * 300_000;
    const level = Math.round((9 + 2.2 * Math.sin((Math.PI * i) / (HOURS * 12))) * 100) / 100;
    lines.push(`flood,station=flood-longbien level_m=${level} ${ts}`);
    written.push({ stationId: 'flood-longbien', kind: 'flood', ts, values: { level_m: level } });
    for (const [j, s] of airStations.entries()) {
      const pm25 = j === 0 && i > 100 && i < 160 ? 180 : 20 + ((i + j) % 15);
      lines.push(`air,station=${s.id} pm25=${pm25},pm10=40 ${ts}`);
      written.push({ stationId: s.id, kind: 'air', ts, values: { pm25, pm10: 40 } });
    }
  }
  for (let i = 0; i < lines.length; i += 5000) await influx.write(lines.slice(i, i + 5000).join('\n'));
});

describe('stored backtest', () => {
  it('reads the window in time-bounded rounds and holds one chunk at a time, however long the window', async () => {
    const largest = async (hours: number) => {
      const { http, seen } = counting(influx);
      let max = 0;
      let total = 0;
      for await (const chunk of streamStoredReadings(http, registry, { fromMs: T0, toMs: T0 + hours * HOUR }, { chunkMs: HOUR })) {
        max = Math.max(max, chunk.length);
        total += chunk.length;
        for (let i = 1; i < chunk.length; i++) expect(chunk[i]!.ts).toBeGreaterThanOrEqual(chunk[i - 1]!.ts);
      }
      return { max, total, ...seen };
    };
    const day = await largest(24);
    const twoDays = await largest(48);
    expect(day.queries).toBe(24); // one request (a statement per kind) per hour of window
    expect(twoDays.queries).toBe(48);
    expect(twoDays.widestMs).toBe(HOUR);
    expect(twoDays.total).toBe(written.length);
    const perHour = 12 * (airStations.length + 1);
    expect(day.max).toBe(perHour); // the most held at once does not grow with the window
    expect(twoDays.max).toBe(perHour);
  });

  it('reports what the all-in-memory replay of the same readings reports, on this thread and in a worker', async () => {
    const expected = backtest({ rules, registry, readings: written, silence: false });
    expect(expected.byRule['flood-river-level']?.opened).toBe(1);
    expect(Object.values(expected.byRule).reduce((n, c) => n + c.opened, 0)).toBeGreaterThan(1);
    const window = { registry, rules, fromMs: T0, toMs: T0 + HOURS * HOUR };
    const streamed = await backtestStored({ ...window, influx, chunkMs: HOUR });
    expect(streamed.readings).toBe(written.length);
    expect(streamed.byRule).toEqual(expected.byRule);
    // Readings of one instant may come in another station order: compare events as a sorted list.
    const keys = (r: typeof expected) => r.events.map((e) => `${e.at} ${e.alert.id} ${e.type}`).sort();
    expect(keys(streamed)).toEqual(keys(expected));
    const offThread = await runBacktestOffThread({ ...window, target, chunkMs: HOUR });
    expect(offThread.byRule).toEqual(expected.byRule);
    expect(offThread.events.length).toBe(expected.events.length);
  });
});
