// The alert metrics an operator alerts on, as the server wires them (server/create-alerts.ts, log
// driven as in the server): lifecycle events by rule and type, alert-engine failures (counted, the
// next readings still judged), and the fan-out queue bound of ALERT_DELIVERY_QUEUE_MAX (the OLDEST
// events dropped and counted, as the README says). Read from the Prometheus registry /metrics serves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../contracts/alerts.ts';
import type { Reading } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';
import { createMetrics } from '../../ingest/metrics.ts';
import { createAuditLog } from '../../server/audit-log.ts';
import { parseConfig } from '../../server/config.ts';
import { createAlerts, type Alerts } from '../../server/create-alerts.ts';
import { influxTargets } from '../../server/influx-targets.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-09-07T00:00:00Z');
const flood = (ts: number, levelM: number): Reading => ({ stationId: 'flood-longbien', kind: 'flood', ts, values: { level_m: levelM } });

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function alertsWith(env: Record<string, string>, excluded?: () => ((stationId: string, parameter: string, tsMs: number) => boolean) | undefined) {
  const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-alert-metrics-'));
  const config = parseConfig({ DATA_DIR: dataDir, ...env });
  const metrics = createMetrics({ processMetrics: false });
  let clock = T0;
  const alerts: Alerts = createAlerts({
    config,
    registry: loadRegistry(),
    influx: createInfluxHttp(influxTargets(config).raw),
    verifyToken: () => undefined,
    log: pino({ level: 'silent' }),
    audit: createAuditLog(join(dataDir, 'audit.jsonl')),
    metrics,
    ...(excluded ? { excluded } : {}),
    logDriven: { clock: () => clock, acknowledge: async () => undefined },
  });
  const delivered: AlertEvent[] = [];
  alerts.service.addChannel({ name: 'collector', deliver: (events) => delivered.push(...events) });
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }), () => alerts.stop(0));
  const sample = async (series: string): Promise<number> => {
    const text = await metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  // The now lane's calls: each reading judged at its log time, its events fanned out.
  const judge = (r: Reading) => {
    clock = r.ts;
    alerts.service.judgeReading(r, true);
  };
  const fannedOut = () => new Promise((r) => setImmediate(r));
  /** Sum of every series of a metric (all label sets). */
  const total = async (name: string): Promise<number> =>
    (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  return { judge, sample, total, delivered, fannedOut };
}

describe('alert metrics', () => {
  it('counts opened, escalated and cleared by rule, and each engine failure while the next readings are still judged', async () => {
    let marksBroken = false;
    // The officers' marks index is the engine's one outside input per reading: broken, it throws
    // inside engine.onReading, as any bug there would.
    const a = alertsWith({}, () => {
      if (marksBroken) throw new Error('marks index unreadable');
      return undefined;
    });
    const rule = 'flood-river-level';
    a.judge(flood(T0, 9.6)); // above level I (9.5 m): opened
    a.judge(flood(T0 + 5 * MIN, 10.6)); // above level II: escalated
    marksBroken = true;
    a.judge(flood(T0 + 10 * MIN, 11.7));
    a.judge(flood(T0 + 15 * MIN, 11.8));
    marksBroken = false;
    // Below level I by more than the 5 cm margin for 30 minutes: cleared.
    for (let m = 20; m <= 60; m += 5) a.judge(flood(T0 + m * MIN, 9.0));
    await a.fannedOut();

    const types = a.delivered.filter((e) => e.alert.ruleId === rule).map((e) => e.type);
    expect(types).toContain('cleared');
    expect(types.filter((t) => t === 'escalated')).toHaveLength(1); // the two failed readings (level III) escalated nothing
    expect(await a.sample('quantrac_alert_engine_errors_total{what="onReading"}')).toBe(2);
    for (const type of ['opened', 'escalated', 'cleared'] as const) {
      expect(await a.sample(`quantrac_alert_events_total{rule="${rule}",type="${type}"}`)).toBe(types.filter((t) => t === type).length);
    }
    expect(await a.sample(`quantrac_alert_events_total{rule="${rule}",type="opened"}`)).toBe(1);
    expect(await a.sample(`quantrac_alert_events_total{rule="${rule}",type="cleared"}`)).toBe(1);
  });

  it('drops the oldest events of a full fan-out queue (ALERT_DELIVERY_QUEUE_MAX) and counts them', async () => {
    const a = alertsWith({ ALERT_DELIVERY_QUEUE_MAX: '2' });
    // Three events in one turn of the event loop, before the queue is drained.
    a.judge(flood(T0, 9.6)); // opened
    a.judge(flood(T0 + 5 * MIN, 10.6)); // escalated to II
    a.judge(flood(T0 + 10 * MIN, 11.6)); // escalated to III
    await a.fannedOut();
    const river = a.delivered.filter((e) => e.alert.ruleId === 'flood-river-level');
    expect(river.map((e) => e.type)).toEqual(['escalated', 'escalated']); // the newest two: the opened event went
    expect(a.delivered).toHaveLength(2); // the bound
    // Every event the engine emitted (all rules) was either delivered or counted as dropped.
    const emitted = await a.total('quantrac_alert_events_total');
    expect(emitted).toBeGreaterThanOrEqual(3);
    expect(await a.sample('quantrac_alert_fanout_dropped_total')).toBe(emitted - 2);
  });
});
