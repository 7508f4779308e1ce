// Incremental rolling windows: a ring of time buckets with running sum/count (means, accumulations)
// and a bounded list of samples (regressions). O(1) amortised per push; serialisable for the store.

export interface BucketWindowState {
  readonly windowMs: number;
  readonly bucketMs: number;
  /** Index (ts / bucketMs, floored) of the newest bucket, or null before the first value. */
  readonly head: number | null;
  /** Non-empty buckets as [index, sum, count]. */
  readonly buckets: readonly (readonly [number, number, number])[];
}

/**
 * Sum and mean over the trailing `windowMs`, at `bucketMs` resolution: the window covers the
 * bucket of the newest value and the buckets before it, windowMs / bucketMs in all. A value older
 * than the window is ignored; a late value inside the window lands in its own bucket.
 */
export class BucketWindow {
  readonly size: number;
  private readonly sums: Float64Array;
  private readonly counts: Uint32Array;
  private head: number | null = null;
  /** Index of the first bucket of the current unbroken run of data (for coveredMs). */
  private since: number | null = null;
  private sumAll = 0;
  private countAll = 0;

  readonly windowMs: number;
  readonly bucketMs: number;

  constructor(windowMs: number, bucketMs: number) {
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.size = Math.max(1, Math.round(windowMs / bucketMs));
    this.sums = new Float64Array(this.size);
    this.counts = new Uint32Array(this.size);
  }

  push(tsMs: number, value: number): void {
    const idx = Math.floor(tsMs / this.bucketMs);
    this.advance(idx);
    const head = this.head as number;
    if (idx <= head - this.size) return;
    if (this.countAll === 0 || this.since === null || idx < this.since) this.since = idx;
    const slot = mod(idx, this.size);
    this.sums[slot] = (this.sums[slot] as number) + value;
    this.counts[slot] = (this.counts[slot] as number) + 1;
    this.sumAll += value;
    this.countAll += 1;
  }

  /** Moves the window's end to `tsMs` (expiring old buckets) without adding a value. */
  advanceTo(tsMs: number): void {
    this.advance(Math.floor(tsMs / this.bucketMs));
  }

  get sum(): number {
    return this.countAll === 0 ? 0 : this.sumAll;
  }
  get count(): number {
    return this.countAll;
  }
  get mean(): number | undefined {
    return this.countAll === 0 ? undefined : this.sumAll / this.countAll;
  }
  /**
   * Span the data covers, from the first bucket of the current run (data since the window was last
   * empty) to the end of the newest bucket, at most windowMs. Gaps inside the run count as covered.
   */
  get coveredMs(): number {
    if (this.head === null || this.since === null || this.countAll === 0) return 0;
    return Math.min(this.size, this.head - this.since + 1) * this.bucketMs;
  }

  /** Mean of the bucket `back` buckets before the newest (0 = newest), or undefined if empty. */
  bucketMean(back: number): number | undefined {
    if (this.head === null || back >= this.size) return undefined;
    const slot = mod(this.head - back, this.size);
    const n = this.counts[slot] as number;
    return n === 0 ? undefined : (this.sums[slot] as number) / n;
  }

  private advance(idx: number): void {
    if (this.head === null) {
      this.head = idx;
      return;
    }
    if (idx <= this.head) return;
    const steps = Math.min(idx - this.head, this.size);
    for (let i = 1; i <= steps; i++) {
      const slot = mod(this.head + i, this.size);
      this.sumAll -= this.sums[slot] as number;
      this.countAll -= this.counts[slot] as number;
      this.sums[slot] = 0;
      this.counts[slot] = 0;
    }
    this.head = idx;
    if (this.countAll === 0) this.sumAll = 0; // drop accumulated float error when empty
  }

  toJSON(): BucketWindowState {
    const buckets: [number, number, number][] = [];
    if (this.head !== null) {
      for (let back = this.size - 1; back >= 0; back--) {
        const idx = this.head - back;
        const slot = mod(idx, this.size);
        if ((this.counts[slot] as number) > 0) buckets.push([idx, this.sums[slot] as number, this.counts[slot] as number]);
      }
    }
    return { windowMs: this.windowMs, bucketMs: this.bucketMs, head: this.head, buckets };
  }

  static fromJSON(state: BucketWindowState): BucketWindow {
    const w = new BucketWindow(state.windowMs, state.bucketMs);
    w.head = state.head;
    for (const [idx, sum, count] of state.buckets) {
      if (w.head !== null && idx <= w.head - w.size) continue;
      if (w.since === null || idx < w.since) w.since = idx;
      const slot = mod(idx, w.size);
      w.sums[slot] = sum;
      w.counts[slot] = count;
      w.sumAll += sum;
      w.countAll += count;
    }
    return w;
  }
}

/** The newest samples within `windowMs` (at most maxPoints), for regressions over a short span. */
export class SampleWindow {
  private samples: [number, number][] = [];

  readonly windowMs: number;
  readonly maxPoints: number;

  constructor(windowMs: number, maxPoints = 256) {
    this.windowMs = windowMs;
    this.maxPoints = maxPoints;
  }

  push(tsMs: number, value: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && tsMs < last[0]) return; // regressions need time order; late samples are skipped
    this.samples.push([tsMs, value]);
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop] as [number, number])[0] <= tsMs - this.windowMs) drop++;
    drop = Math.max(drop, this.samples.length - this.maxPoints);
    if (drop > 0) this.samples.splice(0, drop);
  }

  get points(): readonly (readonly [number, number])[] {
    return this.samples;
  }

  toJSON(): { windowMs: number; maxPoints: number; samples: [number, number][] } {
    return { windowMs: this.windowMs, maxPoints: this.maxPoints, samples: this.samples.map((s) => [s[0], s[1]]) };
  }

  static fromJSON(state: { windowMs: number; maxPoints: number; samples: [number, number][] }): SampleWindow {
    const w = new SampleWindow(state.windowMs, state.maxPoints);
    w.samples = state.samples.map((s) => [s[0], s[1]]);
    return w;
  }
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
