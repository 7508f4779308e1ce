// Backtest: replaying readings (in any order) reports the alerts the rules would have raised.
import { describe, expect, it } from 'vitest';
import { backtest, createBacktestRun } from '../../../ingest/alerts/backtest.ts';
import { loadRules } from '../../../ingest/alerts/rules.ts';
import { MIN, T0, reading, registry } from './fixtures.ts';

describe('backtest', () => {
  it('replays a Yagi-like rise at Long Biên with the default rules', () => {
    // 9.0 m rising 12 cm/h to 11.2 m, then falling back to 9.0 m; every 5 minutes, shuffled
    const levels: number[] = [];
    for (let m = 9.0; m < 11.2; m += 0.01) levels.push(m);
    for (let m = 11.2; m > 9.0; m -= 0.01) levels.push(m);
    const readings = levels.map((m, i) => reading('flood-longbien', T0 + i * 5 * MIN, { level_m: Math.round(m * 100) / 100 })).reverse();
    const report = backtest({ rules: loadRules(), registry, readings, silence: false });
    expect(report.readings).toBe(levels.length);
    expect(report.byRule['flood-river-level']).toEqual({ opened: 1, escalated: 1, deescalated: 1, cleared: 1 });
    expect(report.byRule['flood-river-rise']?.opened).toBe(1);
    const flood = report.alerts.find((a) => a.ruleId === 'flood-river-level');
    expect(flood?.peakLevel.key).toBe('II');
    expect(flood?.peakValue).toBeCloseTo(11.2, 2);
  });

  it('a report for the API keeps transitions only, at most maxEvents of them, and still counts every one', () => {
    // Long Biên swinging across level I (9.5 m) every 2 hours for 10 days, every 5 minutes.
    const readings = Array.from({ length: 10 * 288 }, (_, i) => reading('flood-longbien', T0 + i * 5 * MIN, { level_m: Math.round((9.3 + 0.6 * Math.sin(i / 4)) * 100) / 100 }));
    const full = backtest({ rules: loadRules(), registry, readings, silence: false });
    const valueUpdates = full.events.filter((e) => e.type === 'updated' && e.reason === 'value').length;
    const transitions = full.events.length - valueUpdates;
    expect(valueUpdates).toBeGreaterThan(0);
    expect(transitions).toBeGreaterThan(20);

    const run = createBacktestRun({ rules: loadRules(), registry, silence: false, valueUpdates: false, maxEvents: 10 });
    run.feed(readings);
    const capped = run.report();
    expect(capped.events).toEqual(full.events.filter((e) => !(e.type === 'updated' && e.reason === 'value')).slice(0, 10));
    expect(capped.eventsTotal).toBe(transitions);
    expect(capped.eventsTruncated).toBe(true);
    expect(capped.byRule).toEqual(full.byRule);
    expect(full.eventsTruncated).toBe(false);
    expect(full.eventsTotal).toBe(full.events.length);
  });
});
