// Fixture points for API tests, written straight into the test's InfluxDB over its HTTP /write
// (historical data that MQTT ingest would refuse as too old), relative to a given `nowMs`.
import { influxUrl } from '../support/influx.ts';

export const HOUR = 3_600_000;
export const MIN = 60_000;

export async function writePoints(database: string, lines: string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 5000) {
    const res = await fetch(`${influxUrl()}/write?${new URLSearchParams({ db: database, precision: 'ms' })}`, { method: 'POST', body: lines.slice(i, i + 5000).join('\n') });
    if (res.status !== 204) throw new Error(`write failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * air-001: 12 h of PM2.5 41 / PM10 60 / O₃ 43 / NO₂ 60 every 5 min (VN_AQI 82 PM2.5, US AQI 115);
 * air-002: one reading 2 h ago (stale, AQI not computable: NowCast needs 2 of the last 3 hours);
 * flood-longbien rising 9.8 → 10.13 m over the last hour (level I, ~36 cm/h, next II);
 * rain-001: 2 mm every 5 min for 2 h (24 mm/1 h, 48 mm/24 h); street-001 at 15 cm.
 */
export function cityFixture(nowMs: number): string[] {
  const lines: string[] = [];
  for (let t = nowMs - 12 * HOUR + 5 * MIN; t <= nowMs - MIN; t += 5 * MIN) {
    lines.push(`air,station=air-001,district=Hoàn\\ Kiếm,ward=Hoàn\\ Kiếm pm25=41,pm10=60,o3=43,no2=60 ${t}`);
  }
  lines.push(`air,station=air-001 pm25=41,pm10=60,o3=43,no2=60 ${nowMs - 30_000}`);
  lines.push(`air,station=air-002 pm25=30 ${nowMs - 2 * HOUR}`);
  for (let i = 0; i < 12; i++) lines.push(`flood,station=flood-longbien level_m=${(9.8 + i * 0.03).toFixed(2)} ${nowMs - HOUR + MIN + i * 5 * MIN}`);
  for (let t = nowMs - 2 * HOUR + MIN; t <= nowMs; t += 5 * MIN) lines.push(`rain,station=rain-001 rain_mm=2,interval_s=300 ${t}`);
  lines.push(`flood,station=street-001 depth_cm=15 ${nowMs - MIN}`);
  return lines;
}
