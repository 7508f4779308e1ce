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
// Officers' validation marks (KV quantrac_validations, watched read-only: validation-marks.ts) are
// left out of the rollups as in one process; a mark made or undone marks the hours it touches in
// the owning partition's pending hours, so they are recomputed.
// Prometheus counters of what it moves at /metrics (role-health.ts); the partition's rejected
// readings counted by reason and dead-lettered through the edges (dead-letters.ts), by this role only. One partition: writer-partition.ts.
//
//   JetStream quantrac.log.p.{n} ─▶ store lane (decode, validate, quality) ─▶ writer ─2xx─▶ KV checkpoint store-p{n}
//                                                                                └─▶ KV rollups-p{n} ─▶ rollups (InfluxDB)
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { loadRegistry } from '../../contracts/stations.ts';
import { WRITER_LEASE_BUCKET } from '../../ingest/alerts/partition-lease.ts';
import { createInfluxHttp } from '../../ingest/influx/influx-http.ts';
import { ensureJetStreamLog } from '../../ingest/log/jetstream-log.ts';
import { partitionOf } from '../../ingest/log/reading-identity.ts';
import { openLaneStateBucket, releaseSnapshotted } from '../../ingest/log/kv-lane-state.ts';
import { countStaged, createMetrics } from '../../ingest/metrics.ts';
import type { Config } from '../config.ts';
import { readingStageOptions, writerOptions } from '../create-services.ts';
import { exclusionPredicate, touchedHours } from '../create-validations.ts';
import { influxTargets } from '../influx-targets.ts';
import { startPartitionRunner } from './partition-runner.ts';
import { publishDeadLetter } from './dead-letters.ts';
import { startRoleHealth } from './role-health.ts';
import { watchValidationMarks } from './validation-marks.ts';
import type { MarkChange } from '../../api/kv-validation-store.ts';
import { nowLaneName, startWriterPartition, storeLaneName, type WriterPartition } from './writer-partition.ts';

export { nowLaneName, storeLaneName } from './writer-partition.ts';

export interface RoleProcess {
  urls(): { mqtt: string; http: string };
  stop(): Promise<void>;
}

export async function startWriter(config: Readonly<Config>, log: Logger): Promise<RoleProcess> {
  const owner = config.QUANTRAC_NAME ?? `writer-${process.pid}`;
  const nc = await connect({ servers: [...config.natsServers], name: `quantrac-${owner}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const logOptions = await ensureJetStreamLog(nc);
  const stateKv = await openLaneStateBucket(nc);
  const registry = loadRegistry(config.REGISTRY_PATH);
  const targets = influxTargets(config);
  const influx = createInfluxHttp(targets.raw);
  await influx.ensureDatabase().catch((err: Error) => log.warn({ err: err.message }, 'InfluxDB not ready at start; readings stay in the log'));
  const metrics = createMetrics({ processMetrics: true });
  const partitions = new Map<number, WriterPartition>();
  let written = 0;
  // A change of marks is rolled up again by the writer owning the station's partition: its gateway's
  // (an anonymous development client's records are partitioned by the station id: that one too).
  // Each partition records the marks' revision it has applied (in its rollup marks, one write); a
  // writer taking a partition over marks what changed after it — changes made while no writer ran it.
  const partitionsOfStation = (station: string): Set<number> => {
    const gatewayId = registry.get(station)?.gatewayId;
    return new Set([station, ...(gatewayId ? [gatewayId] : [])].map((k) => partitionOf(k, logOptions.partitions)));
  };
  const noteChanges = (p: number, partition: WriterPartition, changes: readonly MarkChange[], revision: number): Promise<void> =>
    partition.validations.markValidations(changes.flatMap(touchedHours), revision).catch((err: unknown) => log.error({ err, partition: p, changes: changes.length }, 'could not mark rollups for recomputation after a validation change'));
  const marks = await watchValidationMarks(nc, log, (change) => {
    for (const p of partitionsOfStation(change.station)) {
      const partition = partitions.get(p);
      if (partition) void noteChanges(p, partition, [change], change.revision);
    }
  });

  const runner = await startPartitionRunner(
    nc,
    {
      bucket: WRITER_LEASE_BUCKET,
      owner,
      partitions: logOptions.partitions,
      ttlMs: config.CLUSTER_LEASE_TTL_MS,
      maxOwned: config.WRITER_MAX_PARTITIONS || undefined,
      start: async (p) => {
        const partition = await startWriterPartition(
          {
            nc,
            stateKv,
            logOptions,
            registry,
            stageOptions: readingStageOptions(config, registry),
            influx,
            rollupInflux: createInfluxHttp(targets.rollups),
            writer: writerOptions(config),
            snapshotEveryMs: config.LOG_SNAPSHOT_EVERY_MS,
            rollupFlushIntervalMs: config.ROLLUP_FLUSH_INTERVAL_MS,
            openHourEveryMs: config.ROLLUP_OPEN_HOUR_EVERY_MS,
            excluded: exclusionPredicate(marks),
            drainMs: config.SHUTDOWN_DRAIN_MS,
            metrics,
            onStaged: (staged, qos) => {
              countStaged(metrics, staged, qos);
              for (const r of staged.rejected) {
                if (!r.gatewayId) continue;
                publishDeadLetter(nc, r.gatewayId, r.letter);
                metrics.deadLetters.inc();
              }
            },
            onRejectedLine: (line, reason) => {
              const station = /,station=([^, ]+)/.exec(line)?.[1];
              const gatewayId = station ? registry.get(station)?.gatewayId : undefined;
              if (!gatewayId) return;
              publishDeadLetter(nc, gatewayId, { reason: 'database_rejected', detail: reason, topic: '', station, payload: line.slice(0, 1024), rejectedAt: new Date().toISOString() });
              metrics.deadLetters.inc();
            },
            onWritten: (n) => void (written += n),
            log,
          },
          p,
        );
        partitions.set(p, partition);
        // After set(): a change the watch delivers from now on reaches the partition through onChange.
        const upTo = marks.watchedRevision();
        const missed = marks.changedSince(partition.validations.validationsApplied() ?? 0).filter((c) => partitionsOfStation(c.station).has(p));
        if (missed.length > 0) log.info({ partition: p, changes: missed.length }, 'validation changes made while no writer ran the partition: their hours marked for recomputation');
        await noteChanges(p, partition, missed, upTo);
        return {
          async stop(handedOver) {
            partitions.delete(p);
            await partition.stop(handedOver);
          },
        };
      },
    },
    log,
  );

  // The release rule: the stream is purged below the oldest snapshot any lane (writer or alerts)
  // may replay from. Every writer runs it; purging twice is harmless.
  const lanes = Array.from({ length: logOptions.partitions }, (_, p) => [storeLaneName(p), nowLaneName(p)]).flat();
  const releaser = setInterval(() => {
    releaseSnapshotted(nc, stateKv, logOptions.stream, lanes).catch((err: Error) => log.warn({ err: err.message }, 'log release failed; retrying'));
  }, 30_000);
  releaser.unref();

  const sum = (f: (w: WriterPartition) => number) => [...partitions.values()].reduce((n, w) => n + f(w), 0);
  const health = await startRoleHealth(
    config.HTTP_HOST,
    config.HTTP_PORT,
    () => ({
      healthy: !nc.isClosed(),
      role: 'writer',
      owner,
      partitions: runner.running(),
      pointsWritten: written,
      rollupsPending: sum((w) => w.rollups.pending()),
      validationMarks: marks.active(),
    }),
    {
      registry: metrics.registry,
      token: config.METRICS_TOKEN,
      beforeScrape: () => metrics.oldestUnwrittenSeconds.set(Math.max(0, ...[...partitions.values()].map((w) => w.lane.oldestUnwrittenMs())) / 1000),
    },
  );
  log.info({ owner, http: health.url }, 'writer ready');

  return {
    urls: () => ({ mqtt: '', http: health.url }),
    async stop() {
      clearInterval(releaser);
      await runner.stop();
      await marks.close();
      await health.close();
      await nc.drain();
    },
  };
}
