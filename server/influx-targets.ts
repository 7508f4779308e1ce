// The two InfluxDB targets of a configuration: raw readings and rollups. On 1.x they differ by
// retention policy (both created or altered at start); on 2.x/3.x by bucket.
import type { InfluxTarget } from '../ingest/influx/influx-http.ts';
import type { RetentionPolicySpec } from '../ingest/influx/retention.ts';
import type { Config } from './config.ts';

export function influxTargets(config: Readonly<Config>): { raw: InfluxTarget; rollups: InfluxTarget } {
  const retentionPolicies: RetentionPolicySpec[] = [
    { name: config.INFLUX_RETENTION_POLICY, durationHours: config.RETENTION_RAW_DAYS * 24, isDefault: true },
    { name: config.INFLUX_ROLLUP_RETENTION_POLICY, durationHours: config.RETENTION_ROLLUP_DAYS * 24 },
  ];
  const raw: InfluxTarget = {
    url: config.INFLUX_URL,
    api: config.influxApi,
    database: config.INFLUX_DATABASE,
    retentionPolicy: config.INFLUX_RETENTION_POLICY,
    org: config.INFLUX_ORG,
    bucket: config.INFLUX_BUCKET,
    token: config.INFLUX_TOKEN,
    authScheme: config.INFLUX_AUTH_SCHEME,
    timeoutMs: config.INFLUX_TIMEOUT_MS,
    retentionPolicies,
  };
  const rollups: InfluxTarget = {
    ...raw,
    retentionPolicy: config.INFLUX_ROLLUP_RETENTION_POLICY,
    bucket: config.INFLUX_ROLLUP_BUCKET ?? config.INFLUX_BUCKET,
  };
  return { raw, rollups };
}
