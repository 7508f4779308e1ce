// Drains a source of points (the durable log's store lane, or a spool of lines) into InfluxDB in
// batches: the one retry layer of quantrac.
// One batch in flight at a time (ordered, and a recovering database is never stampeded);
// exponential backoff with full jitter honouring Retry-After; a refused write (400/422) uses the
// server's list of refused lines when it sends one (3.x) and is otherwise bisected down to the lines
// the database refuses (dead-lettered with its reason); a 413 splits the batch. A batch leaves the
// source (and the log's checkpoint moves) only after InfluxDB confirmed it.
import {
  DatabaseMissingError,
  RejectedWriteError,
  RetryableWriteError,
  TooLargeWriteError,
} from '../influx/errors.ts';
import type { InfluxHttp } from '../influx/influx-http.ts';
import { splitRefused } from '../influx/partial-write.ts';

/**
 * Where the writer's points come from, in order, with positions to resume from. The Spool (lines)
 * and the log's store lane (ingest/consumers/store-lane.ts) both are one.
 */
export interface WriterSource<P> {
  /** Where the writer starts: the last confirmed position. */
  startPosition(): P;
  /**
   * Points from `from` (a position returned earlier), about `maxRecords` and `maxBytes`, and the
   * position after them; an empty list when nothing more is committed. Reading the same `from`
   * again returns the same points first.
   */
  read(from: P, maxRecords: number, maxBytes: number): Promise<{ records: string[]; next: P }>;
  /** InfluxDB has confirmed everything before `upTo`. */
  release(upTo: P): Promise<void>;
  /** True when everything committed so far has been released. */
  isDrained(): boolean;
  /** 'commit': more may be read now. */
  once(event: 'commit', listener: () => void): unknown;
  off(event: 'commit', listener: () => void): unknown;
}

export interface WriterOptions {
  readonly batchLines: number;
  readonly batchBytes: number;
  /** A batch smaller than `batchLines` waits at most this long for more points. */
  readonly flushIntervalMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Upper bound on the drain pace, points/s (0 = unbounded). */
  readonly maxPointsPerS: number;
}

export interface WriterHooks<P = unknown> {
  onWritten?(points: number, seconds: number): void;
  onRetry?(err: RetryableWriteError | DatabaseMissingError, delayMs: number): void;
  /**
   * The lines InfluxDB has confirmed, before the spool may release them: a returned promise is
   * awaited first (the rollups make their marks durable here, so a crash cannot skip a bucket).
   */
  onStored?(lines: readonly string[], upTo: P): Promise<void> | void;
  /** A line InfluxDB refused for good, with the database's reason. */
  onRejectedLine?(line: string, reason: string): void;
  /** An unexpected failure of the loop itself (e.g. reading the spool); the loop carries on. */
  onError?(err: unknown): void;
}

export interface InfluxWriter {
  start(): void;
  /**
   * Stops the writer. With `drainMs` > 0 it first keeps writing until the spool is drained or the
   * time is up; whatever is left stays in the spool for the next start.
   */
  stop(drainMs?: number): Promise<void>;
  /** Resolves when everything committed to the spool so far is in InfluxDB. */
  flushed(): Promise<void>;
}

class StoppedError extends Error {}

export function createInfluxWriter<P>(spool: WriterSource<P>, http: InfluxHttp, opts: WriterOptions, hooks: WriterHooks<P> = {}): InfluxWriter {
  let cursor: P = spool.startPosition();
  let running = false;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let tokens = 0;
  let tokensAt = Date.now();
  const flushWaiters: (() => void)[] = [];

  /** Sleeps `ms`; stop() and flushed() cut it short. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        if (wake === done) wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** Waits for a commit to the spool, a stop, or `ms`. */
  const waitForData = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      spool.once('commit', done);
      function done() {
        clearTimeout(timer);
        spool.off('commit', done);
        if (wake === done) wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function pace(points: number): Promise<void> {
    if (opts.maxPointsPerS <= 0) return;
    const now = Date.now();
    tokens = Math.min(opts.maxPointsPerS, tokens + ((now - tokensAt) / 1000) * opts.maxPointsPerS);
    tokensAt = now;
    tokens -= points;
    if (tokens < 0) await sleep((-tokens / opts.maxPointsPerS) * 1000);
  }

  function backoff(attempt: number, retryAfterMs: number | undefined): number {
    const exp = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** Math.min(attempt, 20));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.max(retryAfterMs ?? 0, jittered);
  }

  /** Writes `lines` until InfluxDB confirms them (or refuses some for good); retries forever. */
  async function writeBatch(lines: string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (stopping && attempt > 0) throw new StoppedError();
      const started = process.hrtime.bigint();
      try {
        await http.write(lines.join('\n'));
        hooks.onWritten?.(lines.length, Number(process.hrtime.bigint() - started) / 1e9);
        return;
      } catch (err) {
        const split = err instanceof RejectedWriteError && err.refused ? splitRefused(lines, err.refused) : undefined;
        if (split && split.refused.length > 0) {
          // The server named the refused lines and stored the rest: never send the batch again.
          for (const r of split.refused) hooks.onRejectedLine?.(r.line, r.reason);
          if (split.rest.length > 0) await writeBatch(split.rest);
          return;
        }
        if (err instanceof RejectedWriteError || err instanceof TooLargeWriteError) {
          if (lines.length === 1) {
            hooks.onRejectedLine?.(lines[0]!, err.message);
            return;
          }
          // Bisect: lines of a partial write that were stored are simply overwritten again.
          const mid = Math.ceil(lines.length / 2);
          await writeBatch(lines.slice(0, mid));
          await writeBatch(lines.slice(mid));
          return;
        }
        if (err instanceof DatabaseMissingError) {
          await http.ensureDatabase().catch(() => undefined);
        }
        const retryable = err instanceof RetryableWriteError || err instanceof DatabaseMissingError ? err : undefined;
        const delay = backoff(attempt, err instanceof RetryableWriteError ? err.retryAfterMs : undefined);
        if (retryable) hooks.onRetry?.(retryable, delay);
        if (stopping) throw new StoppedError();
        await sleep(delay);
      }
    }
  }

  function notifyFlushed(): void {
    if (spool.isDrained()) for (const w of flushWaiters.splice(0)) w();
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        if (await step()) return;
      } catch (err) {
        hooks.onError?.(err);
        await sleep(opts.backoffMaxMs);
      }
    }
  }

  /** One read-write-release round; true when the writer should stop. */
  async function step(): Promise<boolean> {
    {
      let { records, next } = await spool.read(cursor, opts.batchLines, opts.batchBytes);
      if (records.length === 0) {
        notifyFlushed();
        if (stopping) return true;
        await waitForData(1000);
        return false;
      }
      if (records.length < opts.batchLines && !stopping) {
        // Let a small batch grow for a moment: fewer, larger writes.
        await sleep(opts.flushIntervalMs);
        ({ records, next } = await spool.read(cursor, opts.batchLines, opts.batchBytes));
      }
      await pace(records.length);
      try {
        await writeBatch(records);
      } catch (err) {
        if (err instanceof StoppedError) return true;
        throw err;
      }
      await hooks.onStored?.(records, next);
      cursor = next;
      await spool.release(cursor);
      return false;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      stopping = false;
      cursor = spool.startPosition();
      loop = run();
    },
    async stop(drainMs = 0) {
      if (!running) return;
      if (drainMs > 0) {
        await Promise.race([this.flushed(), new Promise((r) => setTimeout(r, drainMs))]);
      }
      stopping = true;
      running = false;
      wake?.();
      await loop;
    },
    flushed() {
      if (spool.isDrained()) return Promise.resolve();
      return new Promise((resolve) => {
        flushWaiters.push(resolve);
        wake?.();
      });
    },
  };
}
