// Cooperative time slicing for the passes that run on the services thread. The lanes, the rollups,
// the API and the officers' WebSockets share that thread: a reading stage pass over 2,000 records
// (~60 ms) or a rollup round over 25 stations' hours (~100 ms) would otherwise be added, whole, to
// the latency of an alert waiting behind it. A pass checks `due()` between items and, when its slice
// is used up, awaits `pause()`, which lets I/O callbacks and timers run before it goes on.
//
// Priority: the now lane (alerts, live stream) must not queue behind the store lane and the
// rollups, which only have to keep up on average (the PUBACK already waited for the log). Their
// slicers get `yieldTo`, the now lane's "I have records waiting" promise: at each pause they wait
// for it to catch up, at most `maxYieldMs`, so a now lane that cannot keep up slows storage down
// but never stops it (the log's bound then holds acknowledgements back, as for any slow consumer).

/** Work that goes first: a promise that settles once it is done, or undefined when there is none. */
export type UrgentWork = () => Promise<void> | undefined;

export interface TimeSlicer {
  /** True once the current slice is used up. */
  due(): boolean;
  /**
   * Gives the event loop a turn (setImmediate: after pending I/O), lets urgent work run first
   * (up to `maxYieldMs`), and starts a new slice.
   */
  pause(): Promise<void>;
}

/** Default slice: long enough that the pause costs under 1 % of a busy pass. */
export const SLICE_MS = 5;
/** The longest a lower-priority pass waits for urgent work at one pause. */
export const MAX_YIELD_MS = 20;

export interface TimeSlicerOptions {
  readonly sliceMs?: number;
  readonly yieldTo?: UrgentWork | undefined;
  readonly maxYieldMs?: number;
}

export function timeSlicer(opts: TimeSlicerOptions = {}): TimeSlicer {
  const sliceMs = opts.sliceMs ?? SLICE_MS;
  let since = performance.now();
  return {
    due: () => performance.now() - since >= sliceMs,
    async pause() {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const urgent = opts.yieldTo?.();
      if (urgent) await yieldTo(urgent, opts.maxYieldMs ?? MAX_YIELD_MS);
      since = performance.now();
    },
  };
}

/** Waits for `urgent`, or `maxMs`, whichever comes first. */
export async function yieldTo(urgent: Promise<void>, maxMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([urgent, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
  clearTimeout(timer);
}
