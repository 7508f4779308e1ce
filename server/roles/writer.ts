// The cluster's readings + writer role (QUANTRAC_ROLE=writer): for each log partition whose lease
// it holds (bucket quantrac_writer_leases), the embedded server's store lane (reading stage → line
// protocol → InfluxDB writer) on a JetStream reader of that partition, with its checkpoint and
// quality snapshot in the replicated KV bucket (kv-lane-state.ts). The checkpoint moves only after
// InfluxDB answered 2xx; a writer that dies leaves its partitions to another after the lease ttl,
// which resumes from the checkpoint (InfluxDB keeps a re-written point once: same series and time).
// Hourly rollups of the partition's stations as the embedded server's (ingest/rollups/consumer.ts):
// the hours a confirmed batch touched are marked in KV (rollups-p{n}, kv-dirty-set.ts) before the
// checkpoint moves, and recomputed every ROLLUP_FLUSH_INTERVAL_MS; a new owner inherits the marks.
// A station's readings all land in one partition (its gateway's), so one writer rolls up a station.
//
//   JetStream quantrac.log.p.{n} ─▶ store lane (decode, validate, quality) ─▶ writer ─2xx─▶ KV checkpoint store-p{n}
//                                                                                └─▶ KV rollups-p{n} ─▶ rollups (InfluxDB)
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { loadRegistry } from '../../contracts/stations.ts';
import { WRITER_LEASE_BUCKET } from '../../ingest/alerts/partition-lease.ts';
import { createReadingStage } from '../../ingest/consumers/reading-stage.ts';
import { createStoreLane } from '../../ingest/consumers/store-lane.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';
import { ensureJetStreamLog } from '../../ingest/log/jetstream-log.ts';
import { createJetStreamReader } from '../../ingest/log/jetstream-reader.ts';
import { createKvLaneState, openLaneStateBucket, releaseSnapshotted } from '../../ingest/log/kv-lane-state.ts';
import { createRollupConsumer, type RollupConsumer } from '../../ingest/rollups/consumer.ts';
import { createKvDirtySet, rollupsPendingKey } from '../../ingest/rollups/kv-dirty-set.ts';
import { startRollupLoop } from '../../ingest/rollups/loop.ts';
import { createLineEncoder, readingKeysOfLines } from '../../ingest/sink/line-protocol.ts';
import { createInfluxWriter } from '../../ingest/sink/influx-writer.ts';
import type { Config } from '../config.ts';
import { readingStageOptions, writerOptions } from '../create-services.ts';
import { influxTargets } from '../influx-targets.ts';
import { startPartitionRunner, type PartitionConsumer } from './partition-runner.ts';
import { startRoleHealth } from './role-health.ts';

export interface RoleProcess {
  urls(): { mqtt: string; http: string };
  stop(): Promise<void>;
}

/** Lane names in the checkpoint bucket, per partition (the release rule reads them all). */
export const storeLaneName = (p: number) => `store-p${p}`;
export const nowLaneName = (p: number) => `now-p${p}`;

/**
 * Pending station-hours of a partition beyond which a confirmed batch waits for a rollup round before
 * its checkpoint moves (a replay of old data): keeps the KV value of the marks far below NATS's 1 MB
 * payload limit (about 7 bytes a mark, plus up to WRITE_BATCH_LINES new marks of one batch).
 */
const MAX_PENDING_HOURS = 20_000;

export async function startWriter(config: Readonly<Config>, log: Logger): Promise<RoleProcess> {
  const owner = config.QUANTRAC_NAME ?? `writer-${process.pid}`;
  const nc = await connect({ servers: [...config.natsServers], name: `quantrac-${owner}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const logOptions = await ensureJetStreamLog(nc);
  const stateKv = await openLaneStateBucket(nc);
  const registry = loadRegistry(config.REGISTRY_PATH);
  const stageOptions = readingStageOptions(config, registry);
  const targets = influxTargets(config);
  const influx = createInfluxHttp(targets.raw);
  const rollupInflux = createInfluxHttp(targets.rollups);
  const rollupsOf = new Map<number, RollupConsumer>();
  await influx.ensureDatabase().catch((err: Error) => log.warn({ err: err.message }, 'InfluxDB not ready at start; readings stay in the log'));
  const encode = createLineEncoder(registry);
  let written = 0;

  const startPartition = async (p: number): Promise<PartitionConsumer> => {
    const state = createKvLaneState(stateKv, storeLaneName(p));
    await state.claim();
    // Claimed after the lane: the predecessor's marks of every batch before its checkpoint are in KV.
    const dirty = createKvDirtySet(stateKv, rollupsPendingKey(p));
    await dirty.claim();
    const rollups = createRollupConsumer({ registry, raw: influx, rollups: rollupInflux, dirty });
    const reader = await createJetStreamReader(nc, { stream: logOptions.stream, filterSubject: `${logOptions.subjectPrefix}.p.${p}` });
    const lane = createStoreLane({
      reader,
      stage: createReadingStage(registry, stageOptions),
      encode,
      encodeRevision: (rev) => encode.revision(rev),
      state,
      snapshotEveryMs: config.LOG_SNAPSHOT_EVERY_MS,
      checkpointEveryMs: 200,
      onRecordError: (err, position) => log.error({ err, position, partition: p }, 'a log record could not be processed: skipped by the writer'),
    });
    try {
      await lane.open();
    } catch (err) {
      await reader.close(); // the runner tries the start again
      throw err;
    }
    const writer = createInfluxWriter(
      lane,
      influx,
      writerOptions(config),
      {
        onWritten: (n) => void (written += n),
        onRetry: (err, delayMs) => log.warn({ err: err.message, delayMs: Math.round(delayMs), partition: p }, 'InfluxDB write failed; retrying'),
        onRejectedLine: (line, reason) => log.error({ line: line.slice(0, 300), reason, partition: p }, 'InfluxDB refused a point; dropped'),
        onStored: async (lines) => {
          await rollups.onReadings(readingKeysOfLines(lines));
          if (rollups.pending() > MAX_PENDING_HOURS) await rollupLoop.flushNow();
        },
        onError: (err) => log.error({ err, partition: p }, 'InfluxDB writer loop failed; continuing'),
      },
    );
    const rollupLoop = startRollupLoop(rollups, config.ROLLUP_FLUSH_INTERVAL_MS, log.child({ partition: p }));
    rollupsOf.set(p, rollups);
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
      async stop(handedOver) {
        stopped = true;
        await writer.stop(handedOver ? 0 : config.SHUTDOWN_DRAIN_MS);
        rollupsOf.delete(p);
        // Handed over: the marks stay in KV for the new owner. Else what is not recomputed in time stays marked.
        if (handedOver) rollupLoop.abandon();
        else await rollupLoop.stop(config.SHUTDOWN_DRAIN_MS);
        if (!handedOver) await lane.close().catch((err: unknown) => log.warn({ err, partition: p }, 'checkpoint not saved at stop'));
        await reader.close();
      },
    };
  };

  const runner = await startPartitionRunner(
    nc,
    { bucket: WRITER_LEASE_BUCKET, owner, partitions: logOptions.partitions, ttlMs: config.CLUSTER_LEASE_TTL_MS, maxOwned: config.WRITER_MAX_PARTITIONS || undefined, start: startPartition },
    log,
  );

  // The release rule: the stream is purged below the oldest snapshot any lane (writer or alerts)
  // may replay from. Every writer runs it; purging twice is harmless.
  const lanes = Array.from({ length: logOptions.partitions }, (_, p) => [storeLaneName(p), nowLaneName(p)]).flat();
  const releaser = setInterval(() => {
    releaseSnapshotted(nc, stateKv, logOptions.stream, lanes).catch((err: Error) => log.warn({ err: err.message }, 'log release failed; retrying'));
  }, 30_000);
  releaser.unref();

  const health = await startRoleHealth(config.HTTP_HOST, config.HTTP_PORT, () => ({
    healthy: !nc.isClosed(),
    role: 'writer',
    owner,
    partitions: runner.running(),
    pointsWritten: written,
    rollupsPending: [...rollupsOf.values()].reduce((n, r) => n + r.pending(), 0),
  }));
  log.info({ owner, http: health.url }, 'writer ready');

  return {
    urls: () => ({ mqtt: '', http: health.url }),
    async stop() {
      clearInterval(releaser);
      await runner.stop();
      await health.close();
      await nc.drain();
    },
  };
}
