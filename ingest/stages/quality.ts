// Quality stage: flags suspicious values without dropping them (stuck sensor, spike) and spots
// duplicates. State is per (station, parameter), O(1) per value: a run counter and a ring of
// recent values with running sums for the mean and variance.
import type { QualityFlag, Reading } from '../../contracts/reading.ts';

export interface QualityOptions {
  /** The same value this many times in a row flags `stuck` (0 = off). */
  readonly stuckRepeats: number;
  /** A value this many standard deviations from the recent mean flags `spike`. */
  readonly spikeSigma: number;
  /** Recent values kept per parameter for the spike test. */
  readonly spikeWindow: number;
  /** Parameters where a constant value is normal (no rain, a dry street): never `stuck`. */
  readonly constantOk: ReadonlySet<string>;
}

export const DEFAULT_QUALITY: QualityOptions = {
  stuckRepeats: 10,
  spikeSigma: 6,
  spikeWindow: 30,
  constantOk: new Set(['rain_mm', 'interval_s', 'depth_cm']),
};

interface Series {
  last: number;
  repeats: number;
  ring: Float64Array;
  next: number;
  count: number;
  sum: number;
  sumSq: number;
}

export type QualityOutcome = { readonly duplicate: true } | { readonly duplicate: false; readonly reading: Reading };

export interface QualityChecker {
  check(reading: Reading): QualityOutcome;
  /** The whole state as JSON-safe data (a consumer lane's snapshot); restore() takes it back exactly. */
  snapshot(): unknown;
  restore(state: unknown): void;
}

interface SeriesJson {
  readonly last: number | null;
  readonly repeats: number;
  readonly ring: number[];
  readonly next: number;
  readonly count: number;
  readonly sum: number;
  readonly sumSq: number;
}
type QualitySnapshot = { readonly v: 1; readonly lastTs: [string, number][]; readonly series: [string, [string, SeriesJson][]][] };

export function createQualityChecker(opts: QualityOptions = DEFAULT_QUALITY): QualityChecker {
  /** station → parameter → series */
  const series = new Map<string, Map<string, Series>>();
  const lastTs = new Map<string, number>();

  function flagOf(ofStation: Map<string, Series>, name: string, value: number): QualityFlag | undefined {
    let s = ofStation.get(name);
    if (!s) {
      s = { last: NaN, repeats: 0, ring: new Float64Array(opts.spikeWindow), next: 0, count: 0, sum: 0, sumSq: 0 };
      ofStation.set(name, s);
    }
    let flag: QualityFlag | undefined;
    s.repeats = value === s.last ? s.repeats + 1 : 1;
    s.last = value;
    if (opts.stuckRepeats > 0 && s.repeats >= opts.stuckRepeats && !opts.constantOk.has(name)) flag = 'stuck';
    if (!flag && s.count >= Math.min(10, opts.spikeWindow)) {
      const mean = s.sum / s.count;
      const variance = Math.max(0, s.sumSq / s.count - mean * mean);
      // A floor on the spread, so a flat signal does not turn every small change into a spike.
      const spread = Math.max(Math.sqrt(variance), Math.abs(mean) * 0.05, 1e-6);
      if (Math.abs(value - mean) > opts.spikeSigma * spread) flag = 'spike';
    }
    if (flag !== 'spike') {
      // Spikes stay out of the window, so one does not widen the band for the next.
      if (s.count === opts.spikeWindow) {
        const old = s.ring[s.next]!;
        s.sum -= old;
        s.sumSq -= old * old;
      } else s.count++;
      s.ring[s.next] = value;
      s.next = (s.next + 1) % opts.spikeWindow;
      s.sum += value;
      s.sumSq += value * value;
    }
    return flag;
  }

  return {
    snapshot(): QualitySnapshot {
      return {
        v: 1,
        lastTs: [...lastTs],
        series: [...series].map(([station, params]) => [
          station,
          [...params].map(([name, s]) => [name, { last: Number.isNaN(s.last) ? null : s.last, repeats: s.repeats, ring: [...s.ring], next: s.next, count: s.count, sum: s.sum, sumSq: s.sumSq }] as [string, SeriesJson]),
        ]),
      };
    },
    restore(state) {
      const snap = state as QualitySnapshot | undefined;
      lastTs.clear();
      series.clear();
      if (snap?.v !== 1) return;
      for (const [id, ts] of snap.lastTs) lastTs.set(id, ts);
      for (const [station, params] of snap.series) {
        series.set(station, new Map(params.map(([name, s]) => {
          const ring = new Float64Array(opts.spikeWindow);
          ring.set(s.ring.slice(0, opts.spikeWindow));
          return [name, { last: s.last ?? NaN, repeats: s.repeats, ring, next: s.next % opts.spikeWindow, count: Math.min(s.count, opts.spikeWindow), sum: s.sum, sumSq: s.sumSq }];
        })));
      }
    },
    check(reading) {
      // Same station and timestamp as the last reading: a retransmission. It is stored (and
      // overwrites the same point with the same values) but does not move the quality state.
      if (lastTs.get(reading.stationId) === reading.ts) return { duplicate: true };
      lastTs.set(reading.stationId, reading.ts);
      let ofStation = series.get(reading.stationId);
      if (!ofStation) series.set(reading.stationId, (ofStation = new Map()));
      let quality: Record<string, QualityFlag> | undefined;
      for (const name in reading.values) {
        const flag = flagOf(ofStation, name, reading.values[name]!);
        if (flag) (quality ??= {})[name] = flag;
      }
      return { duplicate: false, reading: quality ? { ...reading, quality } : reading };
    },
  };
}
