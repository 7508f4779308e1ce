// Independent test vectors for the QARTOD tests: the cases of IOOS's reference implementation's own
// test suite (ioos_qc, github.com/ioos/ioos_qc, tests/test_qartod.py at 9c1853a, Apache-2.0), inputs
// and expected flags copied as published, run through quantrac's functions (ingest/quality/qartod.ts)
// and, for spike and rate of change, through the streaming quality stage as readings arrive.
import { describe, expect, it } from 'vitest';
import type { QartodFlag } from '../../contracts/quality.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { parseQcConfig, loadQcConfig } from '../../ingest/quality/config.ts';
import { extendFlatRun, flatLine, grossRange, rateOfChange, spike, type FlatRun } from '../../ingest/quality/qartod.ts';
import { createQualityChecker } from '../../ingest/stages/quality.ts';

const registry = loadRegistry();
const T0 = Date.parse('2015-01-01T00:00:00Z');
const MIN = 60_000;

/** ioos_qc spike_test over a whole series: the ends are not evaluated (2). */
function spikeSeries(values: readonly number[], suspect: number, fail: number): QartodFlag[] {
  return values.map((v, i) => (i === 0 || i === values.length - 1 ? 2 : spike(values[i - 1]!, v, values[i + 1]!, { suspect, fail })));
}

/** ioos_qc rate_of_change_test: the first value passes (1) in ioos_qc, having no predecessor. */
function rateSeries(values: readonly number[], stepMs: number, suspectPerH: number, failPerH?: number): QartodFlag[] {
  return values.map((v, i) => (i === 0 ? 1 : rateOfChange({ tsMs: (i - 1) * stepMs, value: values[i - 1]! }, i * stepMs, v, { suspectPerH, ...(failPerH === undefined ? {} : { failPerH }) })));
}

function flatSeries(values: readonly number[], timesS: readonly number[], tolerance: number, suspectS: number, failS: number): QartodFlag[] {
  let run: FlatRun | undefined;
  return values.map((v, i) => {
    run = extendFlatRun(run, timesS[i]! * 1000, v, tolerance, Number.POSITIVE_INFINITY, failS * 1000);
    return flatLine(run, { tolerance, suspectS, failS });
  });
}

/** A QC config with only one test on for flood level_m (others off), to run the streaming stage. */
function onlyTest(tests: object) {
  const raw = structuredClone(loadQcConfig(undefined, registry.stations)) as { parameters: { flood: Record<string, object> } };
  raw.parameters.flood.level_m = { grossRange: { fail: [-1000, 1000] }, climatology: null, spike: null, rateOfChange: null, flatLine: null, ...tests };
  return parseQcConfig(raw);
}

/** Feeds level_m readings one by one and returns each value's final aggregate flag (1 when unlisted). */
function streamed(values: readonly number[], stepMs: number, tests: object): number[] {
  const q = createQualityChecker({ config: onlyTest(tests), registry });
  const byTs = new Map<number, number>();
  values.forEach((v, i) => {
    const out = q.check({ stationId: 'flood-longbien', kind: 'flood', ts: T0 + i * stepMs, values: { level_m: v } });
    if (out.duplicate) throw new Error('duplicate');
    byTs.set(out.reading.ts, out.reading.quality?.level_m?.flag ?? 1);
    for (const rev of out.revisions) byTs.set(rev.ts, rev.quality.level_m?.flag ?? 1);
  });
  return [...byTs.values()];
}

describe('ioos_qc test vectors', () => {
  it('gross range (test_gross_range_check): fail span 10–50, suspect span 20–40', () => {
    const vals = [5, 10, 15, 20, 25, 30, 35, 40, 45, 51];
    expect(vals.map((v) => grossRange(v, { fail: [10, 50], suspect: [20, 40] }))).toEqual([4, 3, 3, 1, 1, 1, 1, 1, 3, 4]);
  });

  it('spike (test_spike, test_spike_negative_vals, test_spike_initial_final_values): suspect 25, fail 50', () => {
    expect(spikeSeries([10, 12, 999.99, 13, 15, 40, 9, 9], 25, 50)).toEqual([2, 4, 4, 4, 1, 3, 1, 2]);
    expect(spikeSeries([-10, -12, -999.99, -13, -15, -40, -9, -9], 25, 50)).toEqual([2, 4, 4, 4, 1, 3, 1, 2]);
    expect(spikeSeries([-100, -99, -99, -98], 25, 50)).toEqual([2, 1, 1, 2]);
  });

  it('spike on real data (test_spike_realdata): suspect 0.5, fail 1', () => {
    const arr = [-0.189, -0.0792, -0.0122, 0.0457, 0.0671, 0.0213, -0.0488, -0.1463, -0.2438, -0.3261, -0.3871, -0.4054, -0.3932, -0.3383, -0.2804, -0.2347, -0.2134, -0.2347, -0.2926, -0.3597, -0.442, -0.509, 0, -0.5944, -0.57, -0.4267, -0.2926, -0.1585, -0.0945, -0.0762];
    const expected = arr.map((_, i) => (i === 0 || i === arr.length - 1 ? 2 : i === 22 ? 3 : 1));
    expect(spikeSeries(arr, 0.5, 1)).toEqual(expected);
    // The same through the streaming stage, each value's spike settled one reading later. The ends:
    // not evaluated (2) for spike, which never lowers the aggregate of the other tests (pass).
    expect(streamed(arr, 15 * MIN, { spike: { suspect: 0.5, fail: 1 } })).toEqual(expected.map((f) => (f === 2 ? 1 : f)));
  });

  const ROC = [2, 10, 2.1, 3, 4, 5, 7, 10, 0, 2, 2.2, 2, 1, 2, 3, 90, 91, 92, 93, 1, 2, 3, 4, 5];
  it('rate of change (test_rate_of_change): 5 units per 15 min, readings 15 min apart', () => {
    const expected = [1, 3, 3, 1, 1, 1, 1, 1, 3, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1, 3, 1, 1, 1, 1];
    expect(rateSeries(ROC, 15 * MIN, 20)).toEqual(expected);
    expect(streamed(ROC, 15 * MIN, { rateOfChange: { suspectPerH: 20 } })).toEqual(expected);
    expect(rateSeries([-2, -10, -2, -3], 15 * MIN, 20)).toEqual([1, 3, 3, 1]); // test_rate_of_change_negative_values
  });

  it('rate of change with a fail threshold (test_rate_of_change_fail_flag): 10 units per 15 min', () => {
    const published = [1, 3, 3, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1, 1, 4, 1, 1, 1, 4, 1, 1, 1, 1];
    // One exception: 10 → 0 in 15 min is exactly the fail rate. QARTOD fails rates that *exceed* it;
    // ioos_qc flags this one only because 10/900 (units/s) rounds above 10/15/60 in binary floating
    // point (0.011111111111111112 > 0.01111111111111111). quantrac compares per hour, exactly: 40 = 40.
    const expected = published.map((f, i) => (i === 8 ? 3 : f));
    expect(rateSeries(ROC, 15 * MIN, 20, 40)).toEqual(expected);
    expect(streamed(ROC, 15 * MIN, { rateOfChange: { suspectPerH: 20, failPerH: 40 } })).toEqual(expected);
  });

  it('flat line on short series (test_flat_line_short_timeseries): 1 s apart, suspect 3 s, fail 5 s, tolerance 0.1', () => {
    const check = (n: number) => flatSeries(Array(n).fill(5), Array.from({ length: n }, (_, i) => i), 0.1, 3, 5);
    expect(check(1)).toEqual([1]);
    expect(check(2)).toEqual([1, 1]);
    expect(check(3)).toEqual([1, 1, 1]);
    expect(check(4)).toEqual([1, 1, 1, 3]);
    expect(check(5)).toEqual([1, 1, 1, 3, 3]);
    expect(check(6)).toEqual([1, 1, 1, 3, 3, 4]);
  });

  it('flat line (test_flat_line): readings 15 min apart, tolerance 0.01, with the durations in whole intervals', () => {
    // ioos_qc turns the durations 3000 s / 4800 s into counts of readings (int(3000/900) = 3 and
    // int(4800/900) = 5 earlier readings); quantrac judges the duration itself (docs/qartod.md), so
    // the published flags are reproduced with the durations those counts stand for: 2700 s, 4500 s.
    const arr = [1, 2, 2.0001, 2, 2.0001, 2, 2.0001, 2, 4, 5, 3, 3.0001, 3.0005, 3.00001];
    const times = arr.map((_, i) => i * 900);
    expect(flatSeries(arr, times, 0.01, 2700, 4500)).toEqual([1, 1, 1, 1, 3, 3, 4, 4, 1, 1, 1, 1, 1, 3]);
    expect(flatSeries(arr.map((x) => -x), times, 0.01, 2700, 4500)).toEqual([1, 1, 1, 1, 3, 3, 4, 4, 1, 1, 1, 1, 1, 3]);
    const fromStart = arr.slice(1); // test_flat_line_starting_from_beginning
    expect(flatSeries(fromStart, times.slice(0, -1), 0.01, 2700, 4500)).toEqual([1, 1, 1, 3, 3, 4, 4, 1, 1, 1, 1, 1, 3]);
  });

  it('flat line on a slow drift (test_flat_line_with_spike): the window slides, tolerance 4, suspect 3 s, fail 6 s', () => {
    const times = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(flatSeries([1, 1, 1, 1, 1, 6, 5, 4, 3, 2], times, 4, 3, 6)).toEqual([1, 1, 1, 3, 3, 1, 1, 1, 3, 3]);
  });
});
