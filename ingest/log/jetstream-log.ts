// The durable log on a NATS JetStream cluster (cluster mode): an R3 file stream replaces the file
// log. Each message is one record body (records.ts, as in the file log); append() resolves once the
// stream's leader has it on a quorum of replicas (the PubAck); checkpoints live in a replicated KV
// bucket. Consumers read it through jetstream-reader.ts and do not know which log they read.
// Positions are stream sequences; append resolves with the record's end (its sequence + 1).
//
//   edge ─ append ─▶ stream QUANTRAC_LOG, subjects quantrac.log.p.{partition}, R3, Nats-Msg-Id dedupe
//                         │ ordered reads by stream sequence (jetstream-reader.ts)
//   consumers ◀───────────┘   checkpoints: KV bucket quantrac_checkpoints, key = consumer name
import type { NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import { partitionKey, partitionOf, publishMsgId } from './reading-identity.ts';
import { encodeCommand, encodePublish, encodeTick, type LogCommand } from './records.ts';
import type { CheckpointStore, LogAppender, LogPosition, RawPublish } from './types.ts';

export interface JetStreamLogOptions {
  readonly stream?: string;
  /** Subject prefix; records go to `{prefix}.p.{partition}`. */
  readonly subjectPrefix?: string;
  /** Fixed when the stream is created: changing it moves stations between alert partitions. */
  readonly partitions?: number;
  readonly replicas?: number;
  /** The stream's bound; at it, appends are refused and acknowledgements held (isFull). */
  readonly maxBytes?: number;
  /** How long JetStream remembers a Nats-Msg-Id, ms. */
  readonly duplicateWindowMs?: number;
  /** One PubAck wait; a timed-out append is retried with the same id (stored once). */
  readonly publishTimeoutMs?: number;
  /** Give up on one append after this long (leader elections take a few seconds). */
  readonly appendTimeoutMs?: number;
  /** How long to retry creating the stream while the cluster elects its meta leader. */
  readonly setupTimeoutMs?: number;
}

export const LOG_DEFAULTS = {
  stream: 'QUANTRAC_LOG',
  subjectPrefix: 'quantrac.log',
  partitions: 16,
  replicas: 3,
  maxBytes: 1024 * 1024 * 1024,
  duplicateWindowMs: 10 * 60_000,
  publishTimeoutMs: 2_000,
  appendTimeoutMs: 60_000,
  setupTimeoutMs: 30_000,
} as const;

export const CHECKPOINT_BUCKET = 'quantrac_checkpoints';

export class LogAppendError extends Error {
  override readonly name = 'LogAppendError';
}

/** JetStream's error code for a stream at its limits with discard: new (server 2.9: 10077 store failed). */
const STORE_FULL_CODES = new Set([10077, 10047]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `op` while the cluster is electing leaders (timeouts, no responders, API errors 503). */
async function withSetupRetry<T>(op: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() + delay > deadline) throw new LogAppendError(`${what} failed for ${timeoutMs} ms`, { cause: err });
      await sleep(delay);
    }
  }
}

export function streamConfig(o: Required<JetStreamLogOptions>): Partial<StreamConfig> & { name: string } {
  return {
    name: o.stream,
    subjects: [`${o.subjectPrefix}.p.*`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: o.replicas,
    discard: DiscardPolicy.New,
    max_bytes: o.maxBytes,
    duplicate_window: o.duplicateWindowMs * 1_000_000,
    allow_direct: true,
  };
}

/** Creates the stream (or updates its bound and window) and the checkpoint bucket. */
export async function ensureJetStreamLog(nc: NatsConnection, options: JetStreamLogOptions = {}): Promise<Required<JetStreamLogOptions>> {
  const o = { ...LOG_DEFAULTS, ...options };
  const jsm = await jetstreamManager(nc);
  const config = streamConfig(o);
  await withSetupRetry(
    async () => {
      try {
        const info = await jsm.streams.info(o.stream);
        if (info.config.max_bytes !== o.maxBytes || info.config.duplicate_window !== config.duplicate_window) {
          await jsm.streams.update(o.stream, { ...info.config, max_bytes: o.maxBytes, duplicate_window: config.duplicate_window });
        }
      } catch (err) {
        if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err; // 10059: stream not found
        await jsm.streams.add(config);
      }
    },
    o.setupTimeoutMs,
    `creating stream ${o.stream}`,
  );
  await withSetupRetry(() => new Kvm(nc).create(CHECKPOINT_BUCKET, { replicas: o.replicas, history: 1 }), o.setupTimeoutMs, `creating bucket ${CHECKPOINT_BUCKET}`);
  return o;
}

export function subjectOf(publish: RawPublish, o: Pick<Required<JetStreamLogOptions>, 'subjectPrefix' | 'partitions'>): string {
  return `${o.subjectPrefix}.p.${partitionOf(partitionKey(publish), o.partitions)}`;
}

export interface JetStreamAppender extends LogAppender {
  /**
   * The clock record, to every partition (each alert owner needs it). Edges append it each tick
   * with `at` on the tick grid, so the copies from several edges collapse into one (Nats-Msg-Id).
   */
  appendTick(at: number): Promise<LogPosition>;
  /** An officer's command, to every partition (the alert it names lives in one of them). */
  appendCommand(at: number, command: LogCommand): Promise<LogPosition>;
}

/**
 * Many appends may be in flight at once (the client pipelines them on one connection). Each
 * resolves after its own PubAck; a timeout or a leader change is retried with the same
 * Nats-Msg-Id, so a record the stream stored before the ack was lost is not stored again.
 */
export function createJetStreamAppender(nc: NatsConnection, options: Required<JetStreamLogOptions>): JetStreamAppender {
  const js: JetStreamClient = jetstream(nc);
  let full = false;
  let spaceWaiter: Promise<void> | undefined;
  let closed = false;

  const waitForSpace = (): Promise<void> => {
    if (!full) return Promise.resolve();
    spaceWaiter ??= (async () => {
      const jsm: JetStreamManager = await jetstreamManager(nc);
      while (full && !closed) {
        await sleep(250);
        try {
          const info = await jsm.streams.info(options.stream);
          if (info.state.bytes < options.maxBytes * 0.95) full = false;
        } catch {
          // the cluster is electing; ask again
        }
      }
      spaceWaiter = undefined;
    })();
    return spaceWaiter;
  };

  const publishBody = async (subject: string, body: Buffer, msgID: string): Promise<LogPosition> => {
    const deadline = Date.now() + options.appendTimeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      if (closed) throw new LogAppendError('the log is closed');
      try {
        const ack = await js.publish(subject, body, { msgID, timeout: options.publishTimeoutMs });
        return ack.seq + 1; // a duplicate's ack names the sequence of the copy already stored
      } catch (err) {
        if (err instanceof JetStreamApiError && STORE_FULL_CODES.has(err.code)) {
          full = true;
          await waitForSpace();
          continue;
        }
        if (Date.now() + delay > deadline) throw new LogAppendError(`append to ${options.stream} not acknowledged within ${options.appendTimeoutMs} ms`, { cause: err });
        await sleep(delay);
      }
    }
  };
  const toEveryPartition = async (body: Buffer, id: string): Promise<LogPosition> => {
    const ends = await Promise.all(
      Array.from({ length: options.partitions }, (_, p) => publishBody(`${options.subjectPrefix}.p.${p}`, body, `${id}:${p}`)),
    );
    return Math.max(...ends);
  };

  return {
    append: (publish) => publishBody(subjectOf(publish, options), encodePublish(publish), publishMsgId(publish)),
    appendTick: (at) => toEveryPartition(encodeTick(at), `t:${at}`),
    appendCommand: (at, command) => {
      const body = encodeCommand(at, command);
      return toEveryPartition(body, `c:${createHash('sha256').update(body).digest('base64url')}`);
    },
    isFull: () => full,
    waitForSpace,
    async close() {
      closed = true;
    },
  };
}

/** Consumer checkpoints in the replicated KV bucket; a save resolves once a quorum stored it. */
export async function createKvCheckpointStore(nc: NatsConnection): Promise<CheckpointStore> {
  const kv: KV = await new Kvm(nc).open(CHECKPOINT_BUCKET);
  return {
    async load(consumer) {
      const entry = await kv.get(checkpointKey(consumer));
      if (!entry || entry.operation !== 'PUT') return undefined;
      const position = Number(entry.string());
      return Number.isSafeInteger(position) ? position : undefined;
    },
    async save(consumer, position) {
      await kv.put(checkpointKey(consumer), String(position));
    },
  };
}

function checkpointKey(consumer: string): string {
  if (!/^[-_=.a-zA-Z0-9]+$/.test(consumer)) throw new Error(`consumer name ${JSON.stringify(consumer)} is not a valid checkpoint key`);
  return consumer;
}

/**
 * Releases what every named consumer has passed: purges the stream below the smallest
 * checkpoint. A consumer without a checkpoint holds everything.
 */
export async function releaseConsumed(nc: NatsConnection, stream: string, checkpoints: CheckpointStore, consumers: readonly string[]): Promise<LogPosition | undefined> {
  const positions = await Promise.all(consumers.map((c) => checkpoints.load(c)));
  if (positions.length === 0 || positions.some((p) => p === undefined)) return undefined;
  const floor = Math.min(...(positions as number[]));
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge(stream, { seq: floor });
  return floor;
}
