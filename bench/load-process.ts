// A background load in its own process (bench/alerts.ts): the gateways' publishers must not share
// an event loop with the probe that times latency, or the probe measures the load generator's own
// queueing. Receives a LoadJob over IPC, publishes it paced, answers with the PublishResult.
import { createRegistry, type Station } from '../contracts/stations.ts';
import { prepareLoad, publishLoad, type PublishResult } from './publishers.ts';

export interface LoadJob {
  readonly url: string;
  readonly version: number;
  readonly stations: readonly Station[];
  readonly ratePerS: number;
  readonly durationS: number;
  readonly credentials?: Record<string, string>;
}

export interface LoadResult extends PublishResult {
  /** CPU the load process used per second of publishing. */
  readonly cores: number;
}

process.once('message', (job: LoadJob) => {
  const registry = createRegistry({ version: job.version, updated: '2026-01-01', stations: [...job.stations] });
  const load = prepareLoad(registry, 50, Date.now());
  const cycles = Math.ceil((job.ratePerS * job.durationS) / load.total);
  const cpu0 = process.cpuUsage();
  publishLoad(job.url, load, { windowPerLane: 200, ratePerS: job.ratePerS, cycles, ...(job.credentials ? { credentials: job.credentials } : {}) }).then(
    (publish) => {
      const cpu = process.cpuUsage(cpu0);
      const result: LoadResult = { ...publish, cores: (cpu.user + cpu.system) / 1000 / publish.elapsedMs };
      process.send!({ ok: true, result }, () => process.exit(0));
    },
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.message : String(err) }, () => process.exit(1)),
  );
});
