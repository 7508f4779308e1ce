// Reads the JetStream log in stream-sequence order for one consumer (LogReader): an ordered
// consumer streams records from the requested position into a bounded buffer; a read elsewhere
// than where the buffer continues restarts it there. Positions are stream sequences; a record's
// `next` is its sequence + 1, so a saved checkpoint resumes right after it.
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { LogEntry, LogPosition, LogReader } from './types.ts';

/** No record for this long while the log holds more: the consumer is restarted. */
const STALL_MS = 3000;
/**
 * Request timeout of the reader's JetStream API calls (creating its consumer), ms. After SIGKILL of
 * one of three servers (nats-server 2.9.10), about one consumer create in three went unanswered for
 * the 15-25 s after the kill, while the others answered within 100 ms (measured here; consistent
 * with new R1 consumers still being placed on the dead stream peer). The client's default (5 s) made
 * each misplaced create stall the reader 5 s; at 2 s the retry, placed again at random, soon lands
 * on a live server. A create slower than this on a live server is only retried.
 */
const CREATE_TIMEOUT_MS = 2000;

export interface JetStreamReaderOptions {
  readonly stream: string;
  /** Only these subjects (one alert partition, say); all of the stream when absent. */
  readonly filterSubject?: string;
  /** Records buffered ahead of the consumer before the reader stops pulling. */
  readonly bufferRecords?: number;
}

export interface JetStreamReader extends LogReader {
  close(): Promise<void>;
}

/** A message's data is the record body (records.ts); a view, not a copy. */
export const entryOf = (m: JsMsg): LogEntry => ({
  position: m.seq,
  next: m.seq + 1,
  body: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
});

export async function createJetStreamReader(nc: NatsConnection, options: JetStreamReaderOptions): Promise<JetStreamReader> {
  const js = jetstream(nc, { timeout: CREATE_TIMEOUT_MS });
  const jsm = await jetstreamManager(nc);
  const bufferRecords = options.bufferRecords ?? 4096;
  let firstSeq = (await jsm.streams.info(options.stream)).state.first_seq;
  let closed = false;

  // The buffer holds exactly this reader's records in [windowStart, windowEnd), in order.
  let buffer: LogEntry[] = [];
  let windowStart: LogPosition = firstSeq;
  let windowEnd: LogPosition = firstSeq;
  let messages: ConsumerMessages | undefined;
  let generation = 0;
  const waiters = new Set<() => void>();
  let drained: (() => void) | undefined;
  let progressAt = Date.now();

  const wake = () => {
    for (const w of waiters) w();
    waiters.clear();
  };

  const run = async (from: LogPosition, gen: number) => {
    const consumer = await js.consumers.get(options.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(from, 1),
      ...(options.filterSubject ? { filter_subjects: options.filterSubject } : {}),
    });
    if (gen !== generation || closed) return;
    // Short pulls (2 s; heartbeats every 1 s): after the server holding the consumer dies, missed
    // heartbeats recreate it within seconds (the 30 s default left a reader stalled that long).
    const iter = await consumer.consume({ max_messages: Math.min(bufferRecords, 1024), expires: 2000 });
    messages = iter;
    for await (const m of iter) {
      if (gen !== generation) break;
      const entry = entryOf(m);
      if (entry.position < windowEnd) continue; // a redelivery after the consumer was recreated
      buffer.push(entry);
      windowEnd = entry.next;
      progressAt = Date.now();
      wake();
      while (buffer.length >= bufferRecords && gen === generation && !closed) await new Promise<void>((r) => (drained = r));
    }
  };

  /** Keeps reading from where the buffer ends; when the consumer fails or ends, starts it again there. */
  const follow = (gen: number) => {
    const again = () => {
      if (gen === generation && !closed) setTimeout(() => gen === generation && !closed && follow(gen), 250);
    };
    run(windowEnd, gen).then(again, again);
  };

  /** Reads from `from` instead: what was buffered is dropped. */
  const seek = (from: LogPosition) => {
    generation++;
    void messages?.close();
    messages = undefined;
    buffer = [];
    windowStart = windowEnd = from;
    drained?.();
    follow(generation);
  };

  /** The last sequence this reader should see, or undefined when unknown. */
  const lastSeq = async (): Promise<number | undefined> => {
    if (!options.filterSubject) {
      const info = await jsm.streams.info(options.stream);
      firstSeq = info.state.first_seq;
      return info.state.last_seq;
    }
    const m = await jsm.streams.getMessage(options.stream, { last_by_subj: options.filterSubject }).catch(() => null);
    return m?.seq;
  };
  // Watchdog: a consumer whose server died may neither deliver nor end (seen after SIGKILL of the
  // stream leader: readers stalled for 30 s and more). When the log holds records beyond the buffer
  // and none arrived for STALL_MS, the consumer is started again where the buffer ends.
  const watchdog = setInterval(() => {
    if (!started || closed || buffer.length >= bufferRecords || Date.now() - progressAt < STALL_MS) return;
    lastSeq().then(
      (last) => {
        if (last === undefined || last < windowEnd || Date.now() - progressAt < STALL_MS) return;
        progressAt = Date.now();
        void messages?.close(); // the for-await ends; follow() starts it again from windowEnd
      },
      () => undefined,
    );
  }, 1000);
  watchdog.unref();

  let started = false;
  return {
    start: () => firstSeq,
    end: () => windowEnd,
    async read(from, maxRecords) {
      if (!started || from < windowStart || from > windowEnd) {
        started = true;
        seek(from);
        return { entries: [], next: from };
      }
      let skip = 0;
      while (skip < buffer.length && buffer[skip]!.position < from) skip++;
      const entries = buffer.slice(skip, skip + maxRecords);
      buffer = buffer.slice(skip + entries.length);
      const next = entries.length > 0 ? entries[entries.length - 1]!.next : from;
      windowStart = next;
      if (buffer.length < bufferRecords) {
        drained?.();
        drained = undefined;
      }
      return { entries, next };
    },
    waitBeyond(position) {
      if (closed || windowEnd > position) return Promise.resolve();
      if (!started) {
        started = true;
        seek(position);
      }
      return new Promise<void>((r) => waiters.add(r));
    },
    async close() {
      closed = true;
      generation++;
      clearInterval(watchdog);
      drained?.();
      wake();
      await messages?.close();
    },
  };
}

/**
 * Follows `reader` from `from`, handing each batch read to `onBatch` (synchronously, in order) until
 * stop(), which also closes the reader.
 */
export function followReader(reader: JetStreamReader, from: LogPosition, onBatch: (entries: readonly LogEntry[]) => void): { stop(): Promise<void> } {
  let position = from;
  let running = true;
  const loop = (async () => {
    while (running) {
      await reader.waitBeyond(position);
      const { entries, next } = await reader.read(position, 512);
      position = next;
      onBatch(entries);
    }
  })();
  return {
    async stop() {
      running = false;
      await reader.close();
      await loop.catch(() => undefined);
    },
  };
}
