// Cooperative time slicing for the passes that run on the services thread. The lanes, the rollups,
// the API and the officers' WebSockets share that thread: a reading stage pass over 2,000 records
// (~60 ms) or a rollup round over 25 stations' hours (~100 ms) would otherwise be added, whole, to
// the latency of an alert waiting behind it. A pass checks `due()` between items and, when its slice
// is used up, awaits `pause()`, which lets I/O callbacks and timers run before it goes on.

export interface TimeSlicer {
  /** True once the current slice is used up. */
  due(): boolean;
  /** Gives the event loop a turn (setImmediate: after pending I/O) and starts a new slice. */
  pause(): Promise<void>;
}

/** Default slice: long enough that the pause costs under 1 % of a busy pass. */
export const SLICE_MS = 5;

export function timeSlicer(sliceMs = SLICE_MS): TimeSlicer {
  let since = performance.now();
  return {
    due: () => performance.now() - since >= sliceMs,
    async pause() {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    },
  };
}
