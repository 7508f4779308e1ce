// The QARTOD quality stage: each test and flag with hand-computed cases, the series officers meet
// (a step change, a flood rise, the start of rain, a stuck sensor), station status, replay, and the
// QC configuration file's validation.
import { describe, expect, it } from 'vitest';
import { isUsable, QARTOD, qualityFromRow, type ParameterQuality } from '../../contracts/quality.ts';
import type { Reading } from '../../contracts/reading.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { loadQcConfig, parseQcConfig, QcConfigError, testsFor, type QcConfig } from '../../ingest/quality/config.ts';
import { createLineEncoder } from '../../ingest/sink/line-protocol.ts';
import { createQualityChecker, type QualityChecker, type QualityOutcome } from '../../ingest/stages/quality.ts';

const registry = loadRegistry();
const defaults = loadQcConfig(undefined, registry.stations);
const MIN = 60_000;
const T0 = Date.parse('2026-11-23T00:00:00Z');

/** A config with the defaults and some tests replaced for one parameter of one kind. */
function withTests(kind: 'air' | 'flood' | 'rain', parameter: string, tests: object): QcConfig {
  const raw = structuredClone(defaults) as { parameters: Record<string, Record<string, object>> };
  raw.parameters[kind]![parameter] = { ...raw.parameters[kind]![parameter], ...tests };
  return parseQcConfig(raw);
}

const air = (ts: number, values: Record<string, number>, extra: Partial<Reading> = {}): Reading => ({ stationId: 'air-001', kind: 'air', ts, values, ...extra });
const checked = (o: QualityOutcome) => {
  if (o.duplicate) throw new Error('unexpected duplicate');
  return o;
};

/**
 * Feeds a series of one parameter and returns each value's final flag: the flag it was stored with,
 * raised by a later revision (a spike judged one reading later).
 */
function finalFlags(q: QualityChecker, stationId: string, kind: Reading['kind'], parameter: string, series: readonly number[], stepMs: number, extra: Record<string, number> = {}): number[] {
  const byTs = new Map<number, number>();
  series.forEach((v, i) => {
    const out = checked(q.check({ stationId, kind, ts: T0 + i * stepMs, values: { [parameter]: v, ...extra } }));
    byTs.set(out.reading.ts, out.reading.quality?.[parameter]?.flag ?? QARTOD.pass);
    for (const rev of out.revisions) byTs.set(rev.ts, rev.quality[parameter]?.flag ?? QARTOD.pass);
  });
  return [...byTs.values()];
}

describe('QARTOD tests, one by one', () => {
  it('gross range: outside the sensor span fails (4), outside the operator span is suspect (3)', () => {
    const q = createQualityChecker({ config: defaults, registry }); // pm25: fail [0, 1000], suspect [0, 600]
    const flagOf = (ts: number, v: number) => checked(q.check(air(ts, { pm25: v }))).reading.quality?.pm25;
    expect(flagOf(T0, 35)).toBeUndefined(); // 1, pass: not listed
    expect(flagOf(T0 + 100 * MIN, 700)).toEqual({ flag: 3, tests: { gross_range: 3 } });
    expect(flagOf(T0 + 300 * MIN, 1200)).toEqual({ flag: 4, tests: { gross_range: 4 } });
  });

  it('climatology: judged against the range of the reading’s month in Hanoi (UTC+7), suspect outside', () => {
    // air temp_c: Dec–Feb 0..36 °C, May–Sep 15..45 °C.
    const q = createQualityChecker({ config: defaults, registry });
    const t = (iso: string, v: number) => checked(q.check(air(Date.parse(iso), { temp_c: v }))).reading.quality?.temp_c;
    expect(t('2026-01-10T05:00:00Z', 38)).toEqual({ flag: 3, tests: { climatology: 3 } });
    expect(t('2026-07-10T05:00:00Z', 38)).toBeUndefined();
    // 30 Apr 17:30 UTC is already 1 May 00:30 in Hanoi: May's range (15..45 °C), not April's (5..41).
    expect(t('2026-04-30T17:30:00Z', 10)).toEqual({ flag: 3, tests: { climatology: 3 } });
  });

  it('climatology without a range for the month is not evaluated (2) and does not lower the aggregate', () => {
    const cfg = withTests('air', 'temp_c', { climatology: [{ months: [6], range: [20, 40] }] });
    const q = createQualityChecker({ config: cfg, registry });
    expect(checked(q.check(air(Date.parse('2026-01-10T05:00:00Z'), { temp_c: 18 }))).reading.quality).toBeUndefined();
  });

  it('spike: |v(n−1) − (v(n−2)+v(n))/2| judged one reading later, as a revision of the earlier point', () => {
    const q = createQualityChecker({ config: withTests('air', 'pm25', { rateOfChange: null }), registry }); // spike 100 / 500
    expect(checked(q.check(air(T0, { pm25: 30 }))).revisions).toEqual([]);
    expect(checked(q.check(air(T0 + MIN, { pm25: 32 }))).revisions).toEqual([]);
    const peak = checked(q.check(air(T0 + 2 * MIN, { pm25: 200 })));
    expect(peak.reading.quality).toBeUndefined(); // its spike result is not known yet (2)
    const next = checked(q.check(air(T0 + 3 * MIN, { pm25: 34 })));
    // |200 − (32 + 34)/2| = 167 > 100 → suspect, for the reading at T0 + 2 min.
    expect(next.revisions).toEqual([{ stationId: 'air-001', kind: 'air', ts: T0 + 2 * MIN, quality: { pm25: { flag: 3, tests: { spike: 3 } } }, settled: [{ parameter: 'pm25', test: 'spike', flag: 3 }] }]);
    expect(next.reading.quality).toBeUndefined();
    q.check(air(T0 + 4 * MIN, { pm25: 580 })); // |580 − (34 + 36)/2| = 545 > 500 → fail
    expect(checked(q.check(air(T0 + 5 * MIN, { pm25: 36 }))).revisions[0]?.quality).toEqual({ pm25: { flag: 4, tests: { spike: 4 } } });
  });

  it('rate of change: |Δv| per hour above the threshold is suspect, for that reading only', () => {
    const q = createQualityChecker({ config: withTests('flood', 'level_m', { rateOfChange: { suspectPerH: 1 }, spike: null }), registry });
    const lvl = (ts: number, v: number) => checked(q.check({ stationId: 'flood-longbien', kind: 'flood', ts, values: { level_m: v } })).reading.quality?.level_m;
    expect(lvl(T0, 8)).toBeUndefined();
    expect(lvl(T0 + 5 * MIN, 8.05)).toBeUndefined(); // 0.6 m/h
    expect(lvl(T0 + 10 * MIN, 8.15)).toEqual({ flag: 3, tests: { rate_of_change: 3 } }); // 1.2 m/h
    expect(lvl(T0 + 15 * MIN, 8.16)).toBeUndefined();
  });

  it('flat line: within the tolerance for suspectS → 3, for failS → 4, and passes again once it moves', () => {
    // pm25: tolerance 0.01, suspect 1800 s, fail 10800 s; one reading a minute.
    const q = createQualityChecker({ config: defaults, registry });
    const stuck = Array.from({ length: 200 }, (_, i) => 35 + (i % 2) * 0.005); // wobbles inside the tolerance
    const flags = finalFlags(q, 'air-001', 'air', 'pm25', [...stuck, 40, 41.5, 39], MIN);
    expect(flags.slice(0, 30).every((f) => f === 1)).toBe(true); // 0..29 min
    expect(flags.slice(30, 180).every((f) => f === 3)).toBe(true); // 30 min .. < 3 h
    expect(flags.slice(180, 200).every((f) => f === 4)).toBe(true); // 3 h on
    expect(flags.slice(200)).toEqual([1, 1, 1]); // never latched
  });

  it('flat line: a sensor that moves by more than the tolerance is never flat', () => {
    const q = createQualityChecker({ config: defaults, registry });
    const flags = finalFlags(q, 'air-001', 'air', 'pm25', Array.from({ length: 120 }, (_, i) => 35 + (i % 2) * 0.02), MIN);
    expect(new Set(flags)).toEqual(new Set([1]));
  });
});

describe('series officers meet', () => {
  it('a step change (PM2.5 20 → 150, sustained) is flagged at most briefly, then passes: never latched', () => {
    const q = createQualityChecker({ config: defaults, registry });
    const series = Array.from({ length: 120 }, (_, i) => (i < 60 ? 20 + (i % 3) : 150 + (i % 3)));
    const flags = finalFlags(q, 'air-001', 'air', 'pm25', series, MIN);
    expect(flags.slice(0, 60).every((f) => f === 1)).toBe(true);
    // The first reading after the step: its rise (130 µg/m³ in a minute) is suspect; then all pass.
    expect(flags[60]).toBe(3);
    expect(flags.slice(61).every((f) => f === 1)).toBe(true);
  });

  it('a street flood after a dry spell (depth 0 for an hour, then rising 2–5 cm per reading) passes', () => {
    const q = createQualityChecker({ config: defaults, registry });
    const series = [...Array.from({ length: 30 }, () => 0), 4, 8, 13, 18, 22, 25, 27, 28, 28, 27, 24, 20];
    expect(new Set(finalFlags(q, 'street-001', 'flood', 'depth_cm', series, 2 * MIN))).toEqual(new Set([1]));
  });

  it('a river flood rise passes, every 5 minutes (30 cm/h) and hourly (0.5 m/h)', () => {
    const q = createQualityChecker({ config: defaults, registry });
    const fiveMin = Array.from({ length: 48 }, (_, i) => 9 + i * 0.025);
    expect(new Set(finalFlags(q, 'flood-longbien', 'flood', 'level_m', fiveMin, 5 * MIN))).toEqual(new Set([1]));
    const hourly = createQualityChecker({ config: defaults, registry });
    const perHour = Array.from({ length: 24 }, (_, i) => 9 + Math.min(i, 12) * 0.5);
    expect(new Set(finalFlags(hourly, 'flood-longbien', 'flood', 'level_m', perHour, 60 * MIN))).toEqual(new Set([1]));
  });

  it('the start of rain (0 → heavy rain) is not a spike, and a dry spell is not a flat line', () => {
    const q = createQualityChecker({ config: defaults, registry });
    const series = [...Array.from({ length: 100 }, () => 0), 9, 14, 16, 12, 8, 3, 0, 0];
    expect(new Set(finalFlags(q, 'rain-001', 'rain', 'rain_mm', series, 5 * MIN, { interval_s: 300 }))).toEqual(new Set([1]));
  });

  it('a lone outlier in rain (40 mm in 5 minutes between dry readings) is a suspect spike', () => {
    const q = createQualityChecker({ config: defaults, registry });
    expect(finalFlags(q, 'rain-001', 'rain', 'rain_mm', [0, 0, 40, 0, 0], 5 * MIN, { interval_s: 300 })).toEqual([1, 1, 3, 1, 1]);
  });
});

describe('state: duplicates, late readings, replay', () => {
  it('a duplicate (same station and timestamp) does not move the state', () => {
    const q = createQualityChecker({ config: defaults, registry });
    q.check(air(T0, { pm25: 20 }));
    expect(q.check(air(T0, { pm25: 20 }))).toEqual({ duplicate: true });
    expect(checked(q.check(air(T0 + MIN, { pm25: 21 }))).reading.quality).toBeUndefined();
  });

  it('a late reading gets gross range and climatology only, and leaves the neighbours alone', () => {
    const q = createQualityChecker({ config: defaults, registry });
    q.check(air(T0 + 10 * MIN, { pm25: 20 }));
    q.check(air(T0 + 11 * MIN, { pm25: 21 }));
    const late = checked(q.check(air(T0, { pm25: 700 })));
    expect(late.reading.quality).toEqual({ pm25: { flag: 3, tests: { gross_range: 3 } } });
    expect(late.revisions).toEqual([]);
    const next = checked(q.check(air(T0 + 12 * MIN, { pm25: 22 })));
    expect(next.reading.quality).toBeUndefined();
    expect(next.revisions).toEqual([]); // 21 between 20 and 22: no spike
  });

  it('replaying the same readings rebuilds the same state and the same flags (no clock)', () => {
    const inputs = Array.from({ length: 300 }, (_, i) => air(T0 + i * MIN, { pm25: i % 37 === 0 ? 400 : 20 + (i % 5), pm10: 40 }));
    const run = () => {
      const q = createQualityChecker({ config: defaults, registry });
      return inputs.map((r) => q.check(r));
    };
    expect(run()).toEqual(run());
  });

  it('a snapshot (through JSON) restored into a new checker goes on exactly as the uninterrupted one, at every cut', () => {
    // Spikes settled across the cut, flat runs, a status change, late readings and a parameter
    // missing from some readings (so parameters' neighbours belong to different readings).
    const inputs: Reading[] = Array.from({ length: 120 }, (_, i) => {
      const values: Record<string, number> = { pm25: i % 17 === 5 ? 500 : 20 + (i % 4), temp_c: i < 60 ? 25 : 25 + (i % 3) * 0.001 };
      if (i % 3 !== 0) values.pm10 = 40 + (i % 7);
      return air(T0 + (i % 29 === 28 ? i - 20 : i) * MIN, values, i >= 80 && i < 85 ? { status: 'calibrating' } : {});
    });
    const whole = createQualityChecker({ config: defaults, registry });
    const expected = inputs.map((r, i) => {
      if (i === 90) whole.setStatus('air-001', 'fault');
      if (i === 95) whole.setStatus('air-001', 'measuring');
      return whole.check(r);
    });
    for (const cut of [1, 6, 7, 33, 61, 82, 91, 96, 119]) {
      const first = createQualityChecker({ config: defaults, registry });
      const out: QualityOutcome[] = [];
      const feed = (q: QualityChecker, from: number, to: number) => {
        for (let i = from; i < to; i++) {
          if (i === 90) q.setStatus('air-001', 'fault');
          if (i === 95) q.setStatus('air-001', 'measuring');
          out.push(q.check(inputs[i]!));
        }
      };
      feed(first, 0, cut);
      const second = createQualityChecker({ config: defaults, registry });
      second.restore(JSON.parse(JSON.stringify(first.snapshot())));
      feed(second, cut, inputs.length);
      expect(out, `cut at ${cut}`).toEqual(expected);
    }
    // The cuts cross settled spikes: the comparison covers revisions, not only fresh flags.
    expect(expected.some((o) => !o.duplicate && o.revisions.length > 0)).toBe(true);
  });
});

describe('station status', () => {
  it('readings while calibrating or faulty are marked, not evaluated (2), and kept out of the neighbours', () => {
    const q = createQualityChecker({ config: defaults, registry });
    q.check(air(T0, { pm25: 20 }));
    q.check(air(T0 + MIN, { pm25: 21 }));
    const cal = checked(q.check(air(T0 + 2 * MIN, { pm25: 900 }, { status: 'calibrating' })));
    expect(cal.reading.status).toBe('calibrating');
    expect(cal.reading.quality?.pm25?.flag).toBe(QARTOD.notEvaluated);
    expect(isUsable(cal.reading)).toBe(false);
    // The span gas value is no neighbour: 22 after 21 is no spike and no jump.
    const after = checked(q.check(air(T0 + 3 * MIN, { pm25: 22 })));
    expect(after.reading.status).toBeUndefined();
    expect(after.reading.quality).toBeUndefined();
    expect(after.revisions).toEqual([]);
  });

  it('a status set from the gateway’s status topic holds until changed; a reading’s own status wins', () => {
    const q = createQualityChecker({ config: defaults, registry });
    q.setStatus('air-001', 'fault');
    expect(q.statusOf('air-001')).toBe('fault');
    expect(checked(q.check(air(T0, { pm25: 20 }))).reading.status).toBe('fault');
    expect(checked(q.check(air(T0 + MIN, { pm25: 20 }, { status: 'measuring' }))).reading.status).toBeUndefined();
    expect(checked(q.check(air(T0 + 2 * MIN, { pm25: 20 }))).reading.status).toBe('fault');
    q.setStatus('air-001', 'measuring');
    expect(checked(q.check(air(T0 + 3 * MIN, { pm25: 20 }))).reading.status).toBeUndefined();
  });

  it('isUsable: suspect values are used, failed values and non-measuring stations are not', () => {
    const quality: Record<string, ParameterQuality> = { pm25: { flag: 3 }, pm10: { flag: 4 } };
    expect(isUsable({ quality }, 'pm25')).toBe(true);
    expect(isUsable({ quality }, 'pm10')).toBe(false);
    expect(isUsable({ quality }, 'no2')).toBe(true);
    expect(isUsable({ status: 'calibrating', quality }, 'pm25')).toBe(false);
    expect(isUsable({ status: 'measuring' })).toBe(true);
  });
});

describe('storage', () => {
  const encode = createLineEncoder(registry);
  it('stores usable values under the parameter, unusable ones beside it, with flags and status', () => {
    const line = encode(air(T0, { pm25: 41, pm10: 2500 }, { quality: { pm10: { flag: 4, tests: { gross_range: 4 } } } }));
    expect(line).toMatch(/ pm25=41,pm10_unusable=2500,pm10_qc=4i,qc="pm10:gross_range=4" \d+$/);
    expect(encode(air(T0, { pm25: 41 }, { status: 'calibrating' }))).toMatch(/ pm25_unusable=41,status=1i \d+$/);
    expect(encode.revision({ stationId: 'air-001', kind: 'air', ts: T0, quality: { pm25: { flag: 3, tests: { spike: 3 } } } })).toBe(
      `air,station=air-001,district=Hoàn\\ Kiếm,ward=Hoàn\\ Kiếm pm25_qc=3i,qc="pm25:spike=3" ${T0}`,
    );
  });

  it('reads flags back from a row, including rows written before QARTOD', () => {
    expect(qualityFromRow({ pm25: 41, pm25_qc: 3, qc: 'pm25:spike=3,pm25:rate_of_change=3' }, ['pm25', 'pm10'])).toEqual({ pm25: { flag: 3, tests: { spike: 3, rate_of_change: 3 } } });
    expect(qualityFromRow({ pm25: 41, qc: 'pm25:stuck' }, ['pm25'])).toEqual({ pm25: { flag: 3, tests: { flat_line: 3 } } });
    expect(qualityFromRow({ pm25: 41 }, ['pm25'])).toEqual({});
  });
});

describe('QC configuration', () => {
  it('the default file is valid and covers every parameter of the contract', () => {
    expect(defaults.version).toBeGreaterThanOrEqual(1);
  });

  it('lists every problem at once', () => {
    const raw = structuredClone(defaults) as unknown as { parameters: { air: Record<string, unknown>; flood: Record<string, unknown> }; stations: Record<string, unknown>; areas: Record<string, unknown> };
    delete raw.parameters.air.rh_pct;
    raw.parameters.air.pm25 = { grossRange: { fail: [0, 100], suspect: [0, 500] }, spike: { suspect: 50, fail: 10 } };
    raw.parameters.flood.wind = {};
    raw.stations['air-999'] = { pm25: {} };
    raw.stations['air-002'] = { level_m: {} };
    raw.areas['Nowhere'] = {};
    let problems: readonly string[] = [];
    try {
      parseQcConfig(raw, 'test', registry.stations);
    } catch (err) {
      expect(err).toBeInstanceOf(QcConfigError);
      problems = (err as QcConfigError).problems;
    }
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('suspect span must lie inside'), expect.stringContaining('spike.fail must be above')]));
    // Shape errors stop before the cross-checks; fix them and the rest is listed together.
    (raw.parameters.air as Record<string, unknown>).pm25 = (defaults.parameters.air as Record<string, unknown>).pm25;
    try {
      parseQcConfig(raw, 'test', registry.stations);
      expect.unreachable();
    } catch (err) {
      expect((err as QcConfigError).problems).toEqual([
        'parameters.flood.wind: flood stations have no parameter wind',
        'parameters.air.rh_pct: missing: every parameter of the contract needs its defaults (null switches a test off)',
        'areas.Nowhere: no station lies in the area "Nowhere"',
        'stations.air-999: station air-999 is not in the registry',
        'stations.air-002.level_m: air station air-002 has no parameter level_m',
      ]);
    }
  });

  it('a station overrides its area, which overrides the defaults, test by test', () => {
    const raw = structuredClone(defaults) as unknown as { areas: Record<string, unknown>; stations: Record<string, unknown> };
    raw.areas['Hoàn Kiếm'] = { air: { pm25: { spike: { suspect: 60 }, climatology: [{ months: [1], range: [0, 300] }] } } };
    raw.stations['air-001'] = { pm25: { spike: { suspect: 70 } } };
    const cfg = parseQcConfig(raw, 'test', registry.stations);
    const t = testsFor(cfg, registry.get('air-001')!, 'pm25');
    expect(t.spike).toEqual({ suspect: 70 });
    expect(t.climatology).toEqual([{ months: [1], range: [0, 300] }]);
    expect(t.grossRange).toEqual({ fail: [0, 1000], suspect: [0, 600] });
  });
});
