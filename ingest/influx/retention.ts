// Retention on InfluxDB 1.x: quantrac creates its retention policies at start (raw readings for
// RETENTION_RAW_DAYS, rollups for RETENTION_ROLLUP_DAYS) and alters them when the settings change.
// 1.x drops whole shard groups once their end is older than the duration (InfluxDB 1.x docs,
// "Database management › Retention policy management"); the minimum duration is 1 h.
// On 2.x/3.x retention is a property of the bucket, set by its owner (README › Retention).
import type { InfluxSeries } from './influx-http.ts';

export interface RetentionPolicySpec {
  readonly name: string;
  /** 0 = forever. */
  readonly durationHours: number;
  /** The database's default policy (where unqualified writes and queries go). */
  readonly isDefault?: boolean;
}

/**
 * Shard group duration: InfluxDB's own defaults (< 2 d → 1 h, ≤ 6 months → 1 d, else 7 d), except
 * for a policy kept forever, whose sparse rollups get 52-week groups (fewer, larger shards).
 */
export function shardGroupHours(durationHours: number): number {
  if (durationHours === 0) return 52 * 7 * 24;
  if (durationHours < 48) return 1;
  if (durationHours <= 183 * 24) return 24;
  return 7 * 24;
}

/** Hours of a Go duration as SHOW RETENTION POLICIES prints it ("9600h0m0s", "0s"). */
export function goDurationHours(d: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(d);
  if (!m) return Number.NaN;
  return Number(m[1] ?? 0) + Number(m[2] ?? 0) / 60 + Number(m[3] ?? 0) / 3600;
}

const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const dur = (hours: number) => (hours === 0 ? 'INF' : `${Math.round(hours)}h`);

/** The CREATE / ALTER statements that bring the database's policies to `specs` (none when they match). */
export function retentionStatements(database: string, existing: readonly InfluxSeries[], specs: readonly RetentionPolicySpec[]): string[] {
  const rows = (existing[0]?.values ?? []).map((v) => Object.fromEntries((existing[0]?.columns ?? []).map((c, i) => [c, v[i]])));
  const out: string[] = [];
  for (const spec of specs) {
    const hours = Math.max(spec.durationHours === 0 ? 0 : 1, Math.round(spec.durationHours));
    const shard = shardGroupHours(hours);
    const row = rows.find((r) => r.name === spec.name);
    const clause = `DURATION ${dur(hours)} REPLICATION 1 SHARD DURATION ${shard}h${spec.isDefault ? ' DEFAULT' : ''}`;
    if (!row) {
      out.push(`CREATE RETENTION POLICY ${ident(spec.name)} ON ${ident(database)} ${clause}`);
      continue;
    }
    const same =
      goDurationHours(String(row.duration)) === hours &&
      goDurationHours(String(row.shardGroupDuration)) === shard &&
      (!spec.isDefault || row.default === true);
    if (!same) out.push(`ALTER RETENTION POLICY ${ident(spec.name)} ON ${ident(database)} ${clause}`);
  }
  return out;
}
