// Runs the rollup consumer's flush every `intervalMs` (never two at once). A failed flush (InfluxDB
// down) leaves its buckets marked; the next round retries them.
import type { Logger } from 'pino';
import type { RollupConsumer } from './consumer.ts';

export interface RollupLoop {
  /** Flushes now (and waits for a flush already running). */
  flushNow(): Promise<void>;
  /** Stops the timer and runs a last flush bounded by `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Stops the timer without a last flush (cluster mode: the partition was handed over with its marks). */
  abandon(): void;
}

export function startRollupLoop(consumer: RollupConsumer, intervalMs: number, log: Logger): RollupLoop {
  let running: Promise<void> | undefined;
  const round = (): Promise<void> => {
    running ??= consumer
      .flush()
      .then((s) => {
        if (s.points > 0) log.debug({ ...s }, 'rollups recomputed');
      })
      .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err), pending: consumer.pending() }, 'rollup flush failed; retrying next round'))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void round(), intervalMs);
  timer.unref();
  return {
    async flushNow() {
      await running;
      await round();
    },
    abandon() {
      clearInterval(timer);
    },
    async stop(graceMs = 5000) {
      clearInterval(timer);
      await Promise.race([(async () => { await running; await round(); })(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    },
  };
}
