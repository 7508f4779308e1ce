// Rebuilds the rollups of a time range from the raw data (after an upgrade, or a change of the
// exclusion rule): one Hanoi day at a time over the chosen stations, each day's hours recomputed
// and overwritten. Memory stays bounded by one day of one round of stations.
import { DAY_MS, HOUR_MS, hanoiDayStart } from '../../contracts/rollups.ts';
import type { Registry } from '../../contracts/stations.ts';
import type { InfluxHttp } from '../influx/influx-http.ts';
import { createRollupConsumer, type FlushStats, type RollupConsumerDeps } from './consumer.ts';

export interface RebuildOptions {
  readonly registry: Registry;
  readonly raw: InfluxHttp;
  readonly rollups: InfluxHttp;
  readonly fromMs: number;
  readonly toMs: number;
  readonly stationIds?: readonly string[] | undefined;
  /** Officers' validation marks (as the running server's consumer has them): a rebuild must leave out what they exclude too. */
  readonly excluded?: RollupConsumerDeps['excluded'];
  readonly onDay?: (dayStartMs: number, stats: FlushStats) => void;
}

export async function rebuildRollups(o: RebuildOptions): Promise<FlushStats> {
  const consumer = createRollupConsumer({ registry: o.registry, raw: o.raw, rollups: o.rollups, excluded: o.excluded });
  const stations = o.stationIds ? o.stationIds.filter((id) => o.registry.get(id)) : o.registry.stations.map((s) => s.id);
  const total = { hours: 0, days: 0, points: 0, queries: 0 };
  for (let day = hanoiDayStart(o.fromMs); day < o.toMs; day += DAY_MS) {
    const from = Math.max(day, Math.floor(o.fromMs / HOUR_MS) * HOUR_MS);
    const to = Math.min(day + DAY_MS, o.toMs);
    const marks: { stationId: string; ts: number }[] = [];
    for (const stationId of stations) for (let h = from; h < to; h += HOUR_MS) marks.push({ stationId, ts: h });
    await consumer.onReadings(marks);
    const s = await consumer.flush();
    o.onDay?.(day, s);
    total.hours += s.hours;
    total.days += s.days;
    total.points += s.points;
    total.queries += s.queries;
  }
  return total;
}
