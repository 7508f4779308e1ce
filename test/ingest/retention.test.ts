// Retention on a real influxd 1.x (its own instance, retention enforced every second): quantrac
// creates the raw and rollup policies at start and alters them when the settings change; once the
// raw policy is shortened, influxd drops the old raw shards and the rollups of those days remain
// and still answer a long series. What it does not show: 400 days passing. The policy that drops
// data is the same mechanism with a longer duration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollupBuckets } from '../../api/rollup-queries.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { DAY_MS, HOUR_MS, hanoiDayStart } from '../../contracts/rollups.ts';
import { createInfluxHttp, type InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { retentionStatements, type RetentionPolicySpec } from '../../ingest/influx/retention.ts';
import { rebuildRollups } from '../../ingest/rollups/rebuild.ts';
import { startLocalInfluxd, type LocalInfluxd } from '../../ops/local-influxd.ts';
import { parseConfig } from '../../server/config.ts';
import { influxTargets } from '../../server/influx-targets.ts';
import { eventually, influxRows } from '../support/influx.ts';

const registry = loadRegistry();
let influxd: LocalInfluxd;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quantrac-retention-'));
  influxd = await startLocalInfluxd({ dir, retentionCheckInterval: '1s' });
});
afterAll(async () => {
  await influxd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function targetsFor(env: Record<string, string>): { raw: InfluxHttp; rollups: InfluxHttp } {
  const t = influxTargets(parseConfig({ INFLUX_URL: influxd.url, INFLUX_DATABASE: 'ret', ...env }));
  return { raw: createInfluxHttp(t.raw), rollups: createInfluxHttp(t.rollups) };
}
const policies = async () => new Map((await influxRows('ret', 'SHOW RETENTION POLICIES ON "ret"', influxd.url)).map((r) => [r.name as string, r]));

describe('retention policies', () => {
  it('are created at start with the configured durations, and left alone when they already match', () => {
    const specs: RetentionPolicySpec[] = [{ name: 'autogen', durationHours: 9600, isDefault: true }, { name: 'rollups', durationHours: 0 }];
    const existing = [{ name: '', columns: ['name', 'duration', 'shardGroupDuration', 'replicaN', 'default'], values: [['autogen', '0s', '168h0m0s', 1, true]] }];
    expect(retentionStatements('q', existing, specs)).toEqual([
      'ALTER RETENTION POLICY "autogen" ON "q" DURATION 9600h REPLICATION 1 SHARD DURATION 168h DEFAULT',
      'CREATE RETENTION POLICY "rollups" ON "q" DURATION INF REPLICATION 1 SHARD DURATION 8736h',
    ]);
    const done = [{ ...existing[0]!, values: [['autogen', '9600h0m0s', '168h0m0s', 1, true], ['rollups', '0s', '8736h0m0s', 1, false]] }];
    expect(retentionStatements('q', done, specs)).toEqual([]);
  });

  it('drop raw readings past their age and keep the rollups, which still answer the span', async () => {
    const first = targetsFor({}); // defaults: raw 400 days, rollups forever
    await first.raw.ensureDatabase();
    let rp = await policies();
    expect(rp.get('autogen')).toMatchObject({ duration: '9600h0m0s', default: true });
    expect(rp.get('rollups')).toMatchObject({ duration: '0s' });

    // Three days of hourly readings 20–23 days ago (an older shard group), and one ten minutes ago.
    const oldFrom = hanoiDayStart(Date.now() - 23 * DAY_MS);
    const lines: string[] = [];
    for (let ts = oldFrom; ts < oldFrom + 3 * DAY_MS; ts += HOUR_MS) lines.push(`air,station=air-001,district=x,ward=y pm25=${30 + (ts / HOUR_MS) % 10} ${ts}`);
    const recent = Date.now() - 10 * 60_000;
    lines.push(`air,station=air-001,district=x,ward=y pm25=55 ${recent}`);
    await first.raw.write(lines.join('\n'));
    await rebuildRollups({ registry, raw: first.raw, rollups: first.rollups, fromMs: oldFrom, toMs: oldFrom + 3 * DAY_MS, stationIds: ['air-001'] });
    const q = { fromMs: oldFrom, toMs: oldFrom + 3 * DAY_MS, everyMs: DAY_MS };
    const before = await rollupBuckets(first.raw, first.rollups, registry.get('air-001')!, 'daily', q);
    expect(before.map((b) => b.values.pm25?.count)).toEqual([24, 24, 24]);

    // The operator shortens raw retention to one hour and restarts: the policy is altered at start…
    const second = targetsFor({ RETENTION_RAW_DAYS: String(1 / 24) });
    await second.raw.ensureDatabase();
    rp = await policies();
    expect(rp.get('autogen')).toMatchObject({ duration: '1h0m0s', shardGroupDuration: '1h0m0s' });
    // …and influxd drops the old raw shards, not the recent reading, and not the rollups.
    await eventually(async () => ((await influxRows('ret', `SELECT count(pm25) FROM "autogen"."air" WHERE time < ${oldFrom + 4 * DAY_MS}ms`, influxd.url)).length === 0 ? true : undefined), 30_000, 'old raw shards dropped');
    expect((await influxRows('ret', `SELECT count(pm25) AS c FROM "autogen"."air"`, influxd.url))[0]?.c).toBe(1);
    expect(await rollupBuckets(second.raw, second.rollups, registry.get('air-001')!, 'daily', q)).toEqual(before);
    expect((await influxRows('ret', `SELECT count(pm25_count) AS c FROM "rollups"."air_1h"`, influxd.url))[0]?.c).toBe(72);
  });
});
