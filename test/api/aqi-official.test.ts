// The hourly US AQI through the real API against the official figures: seven months (Jan–Jul 2020)
// of the U.S. Embassy Hanoi PM2.5 monitor's hourly means (test/fixtures/official/README.md) are
// written into the real InfluxDB as readings, and the API's hourly US AQI must equal the AQI the
// monitor published for every hour — from raw readings (source=raw, month by month) and from the
// rollups that `npm run rollups` builds (one request over the seven months, the default source).
// The hours the monitor rated Invalid are stored as values that failed QC and must be left out.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StationAqiResponseSchema } from '../../contracts/api.ts';
import { influxUrl } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { HOUR, MIN, writePoints } from './fixtures.ts';

const STATION = 'air-011';
const DAY = 24 * HOUR;

interface Row {
  /** Start of the hour, epoch ms (Date (LT) is Hanoi time, UTC+7). */
  readonly hourMs: number;
  readonly label: string;
  /** Official hourly AQI; null when the monitor reported none (−999). */
  readonly aqi: number | null;
  readonly rawUgM3: number;
  readonly qc: string;
}

function officialRows(): Row[] {
  const text = gunzipSync(readFileSync(new URL('../fixtures/official/hanoi-pm25-2020-airnow.csv.gz', import.meta.url))).toString('utf8');
  return text.trim().split(/\r?\n/).slice(1).map((line) => {
    const f = line.split(',');
    const aqi = Number(f[8]);
    return { hourMs: Date.parse(`${f[3]}-${f[4]}-${f[5]}T${f[6]}:00:00+07:00`), label: f[2]!, aqi: aqi === -999 ? null : aqi, rawUgM3: Number(f[10]), qc: f[13]! };
  });
}

const rows = officialRows();
const counts = new Map<number, number>();
for (const r of rows) counts.set(r.hourMs, (counts.get(r.hourMs) ?? 0) + 1);
const duplicated = [...counts].filter(([, n]) => n > 1).map(([h]) => h);
/** The first 11 rows only feed the NowCast of 1 January; a duplicated hour clouds the 12 hours from it. */
const compared = rows.slice(11).filter((r) => !duplicated.some((d) => r.hourMs >= d && r.hourMs < d + 12 * HOUR));
const FROM = rows[11]!.hourMs;
const TO = rows[rows.length - 1]!.hourMs + HOUR;

let t: TestQuantrac;

beforeAll(async () => {
  t = await startTestQuantrac({ RETENTION_RAW_DAYS: '0' }); // keep 2020 readings (raw data otherwise kept 400 days)
  await t.q.influx.ensureDatabase();
  const lines: string[] = [];
  for (const r of rows) {
    if (r.rawUgM3 < 0 || duplicated.includes(r.hourMs)) continue;
    const at = r.hourMs + 30 * MIN;
    if (r.qc === 'Valid' || r.qc === 'Suspect') lines.push(`air,station=${STATION} pm25=${r.rawUgM3} ${at}`);
    // An hour the monitor invalidated: stored as quantrac stores a value that failed QC.
    else if (r.qc === 'Invalid') lines.push(`air,station=${STATION} pm25_unusable=${r.rawUgM3},pm25_qc=4i,qc="pm25:gross_range=4" ${at}`);
  }
  await writePoints(t.database, lines);
}, 60_000);
afterAll(async () => t?.stop());

async function apiAqi(fromMs: number, toMs: number, source?: 'raw' | 'rollups'): Promise<Map<number, { value: number; table: string | undefined } | null>> {
  const qs = new URLSearchParams({ period: 'hourly', scale: 'us', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), ...(source ? { source } : {}) });
  const res = await fetch(`${t.httpUrl}/api/stations/${STATION}/aqi?${qs}`);
  expect(res.status, await res.clone().text()).toBe(200);
  const body = StationAqiResponseSchema.parse(await res.json());
  if (source) expect(body.source).toBe(source);
  return new Map(body.points.map((p) => [Date.parse(p.ts), p.aqi ? { value: p.aqi.value, table: p.aqi.table } : null]));
}

/** Hours where the API differs from the official figure, as readable lines. */
function differences(api: Map<number, { value: number; table: string | undefined } | null>): string[] {
  const out: string[] = [];
  for (const r of compared) {
    const mine = api.get(r.hourMs);
    if (mine === undefined) out.push(`${r.label}: no point`);
    else if ((mine?.value ?? null) !== r.aqi) out.push(`${r.label}: official ${r.aqi}, API ${mine?.value ?? null}`);
  }
  return out;
}

describe('hourly US AQI against the U.S. Embassy Hanoi monitor (Jan–Jul 2020)', () => {
  it('the comparison covers the seven months, reported and unreported hours alike', () => {
    expect(compared.length).toBeGreaterThan(5000);
    expect(compared.filter((r) => r.aqi === null).length).toBeGreaterThan(10); // hours the 2-of-3 rule leaves unrated
    expect(rows.filter((r) => r.qc === 'Invalid').length).toBeGreaterThan(0);
  });

  it('from raw readings (source=raw, a month at a time): every hour equals the official AQI, on the 2012 table', async () => {
    const api = new Map<number, { value: number; table: string | undefined } | null>();
    for (let from = FROM; from < TO; from += 30 * DAY) for (const [k, v] of await apiAqi(from, Math.min(TO, from + 30 * DAY), 'raw')) api.set(k, v);
    expect(differences(api)).toEqual([]);
    expect(new Set([...api.values()].flatMap((v) => (v ? [v.table] : [])))).toEqual(new Set(['US_EPA_2012']));
  });

  it('from the rollups `npm run rollups` builds (one request over the seven months): every hour equals the official AQI', async () => {
    execFileSync(process.execPath, ['ops/rollups.ts', '--from', new Date(FROM - 12 * HOUR).toISOString(), '--to', new Date(TO).toISOString(), '--stations', STATION], {
      env: { ...process.env, INFLUX_URL: influxUrl(), INFLUX_DATABASE: t.database, RETENTION_RAW_DAYS: '0', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const api = await apiAqi(FROM, TO);
    expect(differences(api)).toEqual([]);
  }, 120_000);
});
