// The InfluxDB writer's counters and log lines, as every process that runs a writer reports them
// (the embedded server's services thread, a cluster writer's partitions); what follows a refused
// point (its dead letter) is the caller's.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { WriterHooks } from './influx-writer.ts';

export function countedWriterHooks(
  metrics: Metrics,
  log: Logger,
  then: { readonly onWritten?: (points: number) => void; readonly onRejectedLine: (line: string, reason: string) => void },
): Pick<WriterHooks, 'onWritten' | 'onRetry' | 'onRejectedLine'> {
  return {
    onWritten: (n, s) => {
      metrics.pointsWritten.inc(n);
      metrics.writeBatchSeconds.observe(s);
      then.onWritten?.(n);
    },
    onRetry: (err, delayMs) => {
      metrics.writeRetries.inc({ status: 'status' in err && err.status ? String(err.status) : 'network' });
      log.warn({ err: err.message, delayMs: Math.round(delayMs) }, 'InfluxDB write failed; retrying');
    },
    onRejectedLine: (line, reason) => {
      metrics.pointsRejected.inc();
      log.error({ line: line.slice(0, 300), reason }, 'InfluxDB refused a point; dead-lettered');
      then.onRejectedLine(line, reason);
    },
  };
}
