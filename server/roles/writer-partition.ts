// One log partition of the cluster's writer role (writer.ts), started when the writer takes the
// partition's lease and stopped when it loses or hands it over: the store lane on a JetStream
// reader of the partition → the InfluxDB writer → the partition's rollups; the lane's counters
// and dead letters (this lane is their one reporter in cluster mode: the alert evaluators count
// nothing of the readings). The rollups leave out what officers marked invalid (writer.ts).
//
//   quantrac.log.p.{n} ─▶ store lane ─▶ writer ─2xx─▶ KV rollups-p{n} (marks) ─▶ KV store-p{n} (checkpoint)
//                             └─▶ counters, dead letters        rollup loop ─▶ rollups (InfluxDB)
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { Registry } from '../../contracts/stations.ts';
import { createReadingStage, type ReadingStageOptions, type StagedPublish } from '../../ingest/consumers/reading-stage.ts';
import { createStoreLane, type StoreLane } from '../../ingest/consumers/store-lane.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import type { JetStreamLogOptions } from '../../ingest/log/jetstream-log.ts';
import { createJetStreamReader } from '../../ingest/log/jetstream-reader.ts';
import { createKvLaneState } from '../../ingest/log/kv-lane-state.ts';
import type { Metrics } from '../../ingest/metrics.ts';
import { createRollupConsumer, type RollupConsumer } from '../../ingest/rollups/consumer.ts';
import { createKvDirtySet, rollupsPendingKey, type KvDirtySet } from '../../ingest/rollups/kv-dirty-set.ts';
import { startRollupLoop } from '../../ingest/rollups/loop.ts';
import { createLineEncoder } from '../../ingest/sink/line-protocol.ts';
import { createInfluxWriter, type WriterOptions } from '../../ingest/sink/influx-writer.ts';
import { countedWriterHooks } from '../../ingest/sink/writer-hooks.ts';
import type { PartitionConsumer } from './partition-runner.ts';

/** Lane names in the checkpoint bucket, per partition (the release rule reads them all). */
export const storeLaneName = (p: number) => `store-p${p}`;
export const nowLaneName = (p: number) => `now-p${p}`;

/**
 * Pending station-hours of a partition beyond which a confirmed batch waits for a rollup round before
 * its checkpoint moves (a replay of old data): keeps the KV value of the marks far below NATS's 1 MB
 * payload limit (about 7 bytes a mark, plus up to WRITE_BATCH_LINES new marks of one batch).
 */
const MAX_PENDING_HOURS = 20_000;

export interface WriterPartitionDeps {
  readonly nc: NatsConnection;
  readonly stateKv: KV;
  readonly logOptions: Required<JetStreamLogOptions>;
  readonly registry: Registry;
  readonly stageOptions: ReadingStageOptions;
  readonly influx: InfluxHttp;
  readonly rollupInflux: InfluxHttp;
  readonly writer: WriterOptions;
  readonly snapshotEveryMs: number;
  readonly rollupFlushIntervalMs: number;
  /** A station's open hour is recomputed at most this often (ROLLUP_OPEN_HOUR_EVERY_MS). */
  readonly openHourEveryMs: number;
  /** Officers' marks in force, as the rollups' predicate (create-validations.ts exclusionPredicate). */
  readonly excluded: () => (stationId: string, parameter: string, tsMs: number) => boolean;
  readonly drainMs: number;
  readonly metrics: Metrics;
  /** A publish's outcome past the lane's checkpoint: counters and dead letters. */
  readonly onStaged: (staged: StagedPublish, qos: 0 | 1) => void;
  /** A point InfluxDB refused for good (counted already): its dead letter. */
  readonly onRejectedLine: (line: string, reason: string) => void;
  /** Points InfluxDB confirmed (the health's running total). */
  readonly onWritten: (points: number) => void;
  readonly log: Logger;
}

export interface WriterPartition extends PartitionConsumer {
  readonly lane: StoreLane;
  readonly rollups: RollupConsumer;
  /** The partition's record of officers' validation changes marked for recomputation (kv-dirty-set.ts). */
  readonly validations: Pick<KvDirtySet, 'validationsApplied' | 'markValidations'>;
}

export async function startWriterPartition(d: WriterPartitionDeps, p: number): Promise<WriterPartition> {
  const log = d.log.child({ partition: p });
  const state = createKvLaneState(d.stateKv, storeLaneName(p));
  await state.claim();
  // Claimed after the lane: the predecessor's marks of every batch before its checkpoint are in KV.
  const dirty = createKvDirtySet(d.stateKv, rollupsPendingKey(p));
  await dirty.claim();
  const rollups = createRollupConsumer({ registry: d.registry, raw: d.influx, rollups: d.rollupInflux, dirty, excluded: d.excluded, openHourEveryMs: d.openHourEveryMs });
  const reader = await createJetStreamReader(d.nc, { stream: d.logOptions.stream, filterSubject: `${d.logOptions.subjectPrefix}.p.${p}` });
  const encode = createLineEncoder(d.registry);
  const m = d.metrics;
  const lane = createStoreLane({
    reader,
    stage: createReadingStage(d.registry, d.stageOptions),
    encode,
    encodeRevision: (rev) => encode.revision(rev),
    state,
    snapshotEveryMs: d.snapshotEveryMs,
    checkpointEveryMs: 200,
    onStaged: d.onStaged,
    onRecordError: (err, position) => {
      m.consumerErrors.inc({ consumer: 'store' });
      log.error({ err, position }, 'a log record could not be processed: skipped by the writer');
    },
  });
  try {
    await lane.open();
  } catch (err) {
    await reader.close(); // the runner tries the start again
    throw err;
  }
  const rollupLoop = startRollupLoop(rollups, d.rollupFlushIntervalMs, log);
  const writer = createInfluxWriter(lane, d.influx, d.writer, {
    ...countedWriterHooks(m, log, { onWritten: d.onWritten, onRejectedLine: d.onRejectedLine }),
    onStored: async (_lines, upTo) => {
      await rollups.onReadings(lane.pointKeysUpTo(upTo));
      if (rollups.pending() > MAX_PENDING_HOURS) await rollupLoop.flushNow();
    },
    onError: (err) => log.error({ err }, 'InfluxDB writer loop failed; continuing'),
  });
  writer.start();
  // Wake the writer as soon as the partition grows (it also polls every second).
  let stopped = false;
  void (async () => {
    await reader.waitBeyond(lane.holds()); // starts the reader where the lane replays from
    while (!stopped) {
      lane.notify();
      await reader.waitBeyond(reader.end());
    }
  })();
  return {
    lane,
    rollups,
    validations: dirty,
    async stop(handedOver) {
      stopped = true;
      await writer.stop(handedOver ? 0 : d.drainMs);
      // Handed over: the marks stay in KV for the new owner. Else what is not recomputed in time stays marked.
      if (handedOver) rollupLoop.abandon();
      else await rollupLoop.stop(d.drainMs);
      if (!handedOver) await lane.close().catch((err: unknown) => log.warn({ err }, 'checkpoint not saved at stop'));
      await reader.close();
    },
  };
}
