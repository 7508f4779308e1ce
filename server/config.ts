// Configuration of the quantrac server, from environment variables: one zod schema, parsed once
// at start with every problem listed together, then frozen. Each field names its unit and default.
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const MiB = 1024 * 1024;

export const EnvSchema = z.object({
  INFLUX_URL: z.url().default('http://127.0.0.1:8086'),
  /** `v1` (database + retention policy via /write) or `v2` (org + bucket + token via /api/v2/write). */
  INFLUX_API: z.enum(['v1', 'v2', 'auto']).default('auto'),
  INFLUX_DATABASE: z.string().min(1).default('quantrac'),
  /** 1.x retention policy of the raw readings (created or altered at start to RETENTION_RAW_DAYS). */
  INFLUX_RETENTION_POLICY: z.string().min(1).default('autogen'),
  /** 1.x retention policy of the hourly and daily rollups (created or altered at start to RETENTION_ROLLUP_DAYS). */
  INFLUX_ROLLUP_RETENTION_POLICY: z.string().min(1).default('rollups'),
  /** 2.x/3.x bucket of the rollups (give it a longer retention than INFLUX_BUCKET); default INFLUX_BUCKET. */
  INFLUX_ROLLUP_BUCKET: z.string().optional(),
  /** How long raw readings are kept, days (fractions allowed, at least 1 h); 0 = forever. */
  RETENTION_RAW_DAYS: z.coerce.number().min(0).default(400),
  /** How long rollups are kept, days; 0 = forever. */
  RETENTION_ROLLUP_DAYS: z.coerce.number().min(0).default(0),
  /** How often the rollups of the hours and days touched by stored readings are recomputed, ms. */
  ROLLUP_FLUSH_INTERVAL_MS: int(30_000, 100),
  ROLLUP_OPEN_HOUR_EVERY_MS: int(300_000, 0),
  INFLUX_ORG: z.string().optional(),
  INFLUX_BUCKET: z.string().optional(),
  INFLUX_TOKEN: z.string().optional(),
  /** How the token is sent: `auto` (Bearer for InfluxDB 3.x, Token otherwise), `token`, `bearer`, `basic` (token as password). */
  INFLUX_AUTH_SCHEME: z.enum(['auto', 'token', 'bearer', 'basic']).default('auto'),
  INFLUX_TIMEOUT_MS: int(10_000, 100),
  MQTT_HOST: z.string().default('0.0.0.0'),
  MQTT_PORT: int(1883),
  MQTT_ALLOW_ANONYMOUS: bool(false),
  MQTT_DRAIN_TIMEOUT_MS: int(10_000, 100),
  /** MQTT over TLS listener port; it listens only when TLS_CERT_FILE and TLS_KEY_FILE are set. */
  MQTT_TLS_PORT: int(8883),
  /** The plain (clear-text) MQTT listener on MQTT_PORT; `false`/`off`: TLS only (needs TLS_CERT_FILE/TLS_KEY_FILE). */
  MQTT_PLAIN: bool(true),
  /** Client certificates on the MQTT TLS listener: `off`, `optional` (asked for; a bound one authenticates its gateway) or `required` (no handshake without one). */
  MQTT_TLS_CLIENT_CERT: z.enum(['off', 'optional', 'required']).default('off'),
  /** PEM CA bundle client certificates must chain to; required unless MQTT_TLS_CLIENT_CERT=off. */
  MQTT_TLS_CLIENT_CA_FILE: z.string().optional(),
  /** Largest MQTT packet accepted, bytes (fixed header excluded); above INGEST_MAX_PAYLOAD_BYTES. */
  MQTT_MAX_PACKET_BYTES: int(1024 * 1024, 1024),
  /** Open MQTT connections allowed from one remote address. */
  MQTT_MAX_CONNECTIONS_PER_ADDRESS: int(64, 1),
  /** Connection attempts allowed from one address per MQTT_CONNECT_WINDOW_MS before a ban. */
  MQTT_CONNECT_BURST: int(30, 1),
  MQTT_CONNECT_WINDOW_MS: int(10_000, 100),
  /** How long an address that exceeded MQTT_CONNECT_BURST is refused, ms. */
  MQTT_CONNECT_BAN_MS: int(60_000, 0),
  /** Unacknowledged publishes per client before the broker stops reading its socket. */
  MQTT_MAX_INFLIGHT: int(100, 1),
  /**
   * Gateway password checks (scrypt, on libuv's 4-thread pool that the log's fdatasync shares) at
   * once; with API_LOGIN_HASH_CONCURRENCY (1) at least one pool thread stays free for the log.
   */
  MQTT_AUTH_HASH_CONCURRENCY: int(2, 1),
  /** CONNECTs waiting for a password check before more are refused with CONNACK 3 (server unavailable). */
  MQTT_AUTH_QUEUE_MAX: int(1000, 0),
  /** What a publish outside the client's ACL gets: `ignore` (ack and drop, mosquitto) or `disconnect`. */
  MQTT_DENY_ACTION: z.enum(['ignore', 'disconnect']).default('ignore'),
  /** `strict` (the topic ACL) or `open`: DEVELOPMENT ONLY, any topic outside `$…` and `quantrac/…` (for MQTT interoperability suites); warned at start. */
  MQTT_ACL: z.enum(['strict', 'open']).default('strict'),
  /** PEM certificate chain and key for MQTT over TLS and HTTPS/WSS; optional CA bundle sent with them. */
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  TLS_CA_FILE: z.string().optional(),
  /** Serve the API over HTTPS/WSS when the TLS files are set (false behind a TLS-terminating proxy). */
  HTTP_TLS: bool(true),
  HTTP_HOST: z.string().default('0.0.0.0'),
  HTTP_PORT: int(8080),
  DATA_DIR: z.string().default('.data'),
  REGISTRY_PATH: z.string().optional(),
  SPOOL_MAX_BYTES: int(1024 * MiB, 1),
  SPOOL_SEGMENT_BYTES: int(16 * MiB, 1024),
  SPOOL_FSYNC: bool(true),
  /** How often each consumer lane snapshots its derived state (quality windows, alert engine) at a log position, ms. */
  LOG_SNAPSHOT_EVERY_MS: int(10_000, 100),
  /** Reading-stage outcomes the now lane hands to the store lane, at most (0: each lane runs its own stage). */
  LOG_HAND_OFF_RECORDS: int(50_000),
  WRITE_BATCH_LINES: int(5000, 1),
  WRITE_FLUSH_INTERVAL_MS: int(200),
  WRITE_MAX_POINTS_PER_S: int(200_000),
  WRITE_BACKOFF_BASE_MS: int(250, 1),
  WRITE_BACKOFF_MAX_MS: int(30_000, 1),
  INGEST_MAX_FUTURE_MS: int(5 * 60_000),
  INGEST_MAX_AGE_MS: int(30 * 24 * 3600_000),
  INGEST_MAX_PAYLOAD_BYTES: int(256 * 1024, 64),
  INGEST_MAX_BATCH_READINGS: int(1000, 1),
  INGEST_MAX_JSON_DEPTH: int(8, 3),
  /** QARTOD QC thresholds file (ingest/quality/config.ts); default ingest/quality/qc.default.json. A bad file stops start-up. */
  QC_CONFIG_PATH: z.string().optional(),
  /** Public API requests allowed per client address per minute (429 beyond). */
  API_RATE_LIMIT_PER_MIN: int(600, 1),
  /** Comma-separated origins allowed by CORS (e.g. `https://a.example,https://b.example`), `*` for any; empty = same origin only. */
  API_CORS_ORIGINS: z.string().default(''),
  /** HMAC secret of officer/operator bearer tokens; when absent one is generated once into DATA_DIR/api-token-secret (cluster: into KV quantrac_api_secrets, shared by every API process). */
  API_TOKEN_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** Lifetime of a bearer token, seconds (8 h). */
  API_TOKEN_TTL_S: int(8 * 3600, 60),
  /** How long snapshots and aggregates are cached in process (and told to clients via Cache-Control), ms. */
  API_CACHE_TTL_MS: int(10_000, 0),
  /** Longest time range one request may span, days. */
  API_MAX_RANGE_DAYS: int(31, 1),
  /** Most buckets (time points) one series request may return. */
  API_MAX_POINTS: int(10_000, 1),
  /** Row cap of /api/export.csv (announced in the X-Row-Cap header and a trailing comment row). */
  API_EXPORT_MAX_ROWS: int(100_000, 1),
  /** Map tile origin the portal loads images from, allowed by the Content-Security-Policy. */
  API_TILE_URL: z.url().default('https://tile.openstreetmap.org'),
  /** Largest WebSocket message accepted from a client, bytes. */
  WS_MAX_PAYLOAD_BYTES: int(16 * 1024, 256),
  /** Socket buffer above which a live client gets only the latest reading per station, bytes. */
  WS_COALESCE_BYTES: int(256 * 1024, 1024),
  /** Socket buffer above which a live client is disconnected as not reading, bytes. */
  WS_MAX_BUFFERED_BYTES: int(4 * MiB, 1024),
  /** How long a live client may stay above WS_COALESCE_BYTES (not reading) before it is disconnected, ms. */
  WS_MAX_STALL_MS: int(30_000, 100),
  /** Interval of WebSocket pings; a client that has not answered the previous ping is terminated, ms. */
  WS_HEARTBEAT_MS: int(30_000, 100),
  /** Alert rules file (ingest/alerts/README.md); default ingest/alerts/rules.default.json. A bad file stops start-up. */
  ALERT_RULES_PATH: z.string().optional(),
  /** Interval of the alert engine's tick (silence detection, pruning, snapshots), ms. */
  ALERT_TICK_MS: int(5000, 100),
  /** Webhook URLs receiving signed alert events: a JSON array or a comma-separated list; empty = none. */
  ALERT_WEBHOOKS: z.string().default(''),
  /** HMAC-SHA256 key of the webhook signature; required when ALERT_WEBHOOKS is set. */
  ALERT_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** Timeout of one webhook request, ms. */
  ALERT_WEBHOOK_TIMEOUT_MS: int(5000, 100),
  /** Attempts per webhook delivery before it is recorded as failed. */
  ALERT_WEBHOOK_MAX_ATTEMPTS: int(8, 1),
  /** First retry delay of a webhook delivery (doubled each attempt, full jitter), ms. */
  ALERT_WEBHOOK_BACKOFF_BASE_MS: int(1000, 1),
  /** Longest retry delay of a webhook delivery, ms. */
  ALERT_WEBHOOK_BACKOFF_MAX_MS: int(60_000, 1),
  /** Alert deliveries queued per channel before the oldest is dropped (and counted). */
  ALERT_DELIVERY_QUEUE_MAX: int(10_000, 1),
  /** Bearer token Prometheus must send to /metrics (also shows /readyz details); unset = /metrics public. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Reverse proxies whose X-Forwarded-For is believed: `false`, a hop count (`1`), or comma-separated addresses/CIDRs. */
  TRUST_PROXY: z.string().default('false'),
  /** Failed logins of one account before each further one locks it for a growing time. */
  API_LOGIN_MAX_FAILURES: int(5, 1),
  /** Failed logins from one client address (any accounts) before it is locked out the same way. */
  API_LOGIN_MAX_FAILURES_PER_ADDRESS: int(20, 1),
  /** First lockout past the failure allowance, ms; doubled for each further failure. */
  API_LOGIN_LOCKOUT_MS: int(60_000, 1),
  /** Longest lockout, ms. */
  API_LOGIN_LOCKOUT_MAX_MS: int(15 * 60_000, 1),
  /** Password checks (scrypt, on libuv's thread pool) running at once; more wait, a long queue is 503. */
  API_LOGIN_HASH_CONCURRENCY: int(1, 1),
  SHUTDOWN_DRAIN_MS: int(5000),
  /** Cluster mode: comma-separated nats:// URLs of the JetStream cluster (shared credentials, the replicated log); unset = embedded. */
  NATS_URL: z.string().optional(),
  /**
   * What this process runs: `all` (the embedded server) or, in cluster mode, `edge` (MQTT → the
   * JetStream log), `writer` (readings → InfluxDB), `alerts` (alert evaluation per partition) or `api`.
   */
  QUANTRAC_ROLE: z.enum(['all', 'edge', 'writer', 'alerts', 'api']).default('all'),
  /** Cluster mode: this process's name in leases and `npm run cluster -- status` (unique in the cluster); default `{role}-{pid}`. */
  QUANTRAC_NAME: z.string().regex(/^[-_a-zA-Z0-9]+$/).optional(),
  /** Cluster mode: a writer or alert evaluator silent this long loses its log partitions to another, ms. */
  CLUSTER_LEASE_TTL_MS: int(5000, 300),
  /** Cluster mode: log partitions one writer takes while they are free (0 = all); a silent writer's are taken regardless. */
  WRITER_MAX_PARTITIONS: int(0),
  /** The MQTT listener expects a PROXY protocol v1/v2 header from the load balancer (cluster edges behind HAProxy). */
  MQTT_PROXY_PROTOCOL: bool(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Env {
  readonly influxApi: 'v1' | 'v2';
  readonly dataDir: string;
  readonly spoolDir: string;
  readonly credentialsPath: string;
  /** Append-only JSON-lines log of credential changes and officer actions. */
  readonly auditLogPath: string;
  /** Plain passwords of the simulated gateways (0600), written by ensureGatewayCredentials. */
  readonly simCredentialsPath: string;
  /** Officer/operator accounts of the API (scrypt hashes), see api/auth.ts. */
  readonly apiUsersPath: string;
  /** Generated API token secret when API_TOKEN_SECRET is not set (0600). */
  readonly apiTokenSecretPath: string;
  /** Alert store, webhook delivery log (DATA_DIR/alerts). */
  readonly alertsDir: string;
  /** ALERT_WEBHOOKS parsed into absolute http(s) URLs. */
  readonly alertWebhookUrls: readonly string[];
  /** TRUST_PROXY as Fastify's trustProxy: false, a hop count, or addresses/CIDRs. */
  readonly trustProxy: false | number | readonly string[];
  /** NATS_URL split into server URLs; empty in embedded mode. */
  readonly natsServers: readonly string[];
}

export function parseConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const influxApi = e.INFLUX_API === 'auto' ? (e.INFLUX_BUCKET || e.INFLUX_TOKEN ? 'v2' : 'v1') : e.INFLUX_API;
  if (influxApi === 'v2' && !e.INFLUX_BUCKET) problems.push('INFLUX_BUCKET: required with the v2 API (InfluxDB 2.x/3.x)');
  if (influxApi === 'v2' && !e.INFLUX_TOKEN) problems.push('INFLUX_TOKEN: required with the v2 API (InfluxDB 2.x/3.x)');
  if (e.WRITE_BACKOFF_MAX_MS < e.WRITE_BACKOFF_BASE_MS) problems.push('WRITE_BACKOFF_MAX_MS: must be at least WRITE_BACKOFF_BASE_MS');
  if (e.SPOOL_MAX_BYTES < e.SPOOL_SEGMENT_BYTES) problems.push('SPOOL_MAX_BYTES: must be at least SPOOL_SEGMENT_BYTES');
  if (e.MQTT_MAX_PACKET_BYTES <= e.INGEST_MAX_PAYLOAD_BYTES) {
    problems.push('MQTT_MAX_PACKET_BYTES: must exceed INGEST_MAX_PAYLOAD_BYTES (oversized payloads are dead-lettered by ingest, not cut off)');
  }
  if (Boolean(e.TLS_CERT_FILE) !== Boolean(e.TLS_KEY_FILE)) problems.push('TLS_CERT_FILE, TLS_KEY_FILE: set both or neither');
  if (!e.MQTT_PLAIN && !e.TLS_CERT_FILE) problems.push('MQTT_PLAIN: off needs TLS_CERT_FILE and TLS_KEY_FILE (else the broker would have no listener)');
  if (e.MQTT_TLS_CLIENT_CERT !== 'off' && !e.MQTT_TLS_CLIENT_CA_FILE) problems.push(`MQTT_TLS_CLIENT_CA_FILE: required with MQTT_TLS_CLIENT_CERT=${e.MQTT_TLS_CLIENT_CERT}`);
  if (e.MQTT_TLS_CLIENT_CERT !== 'off' && !e.TLS_CERT_FILE) problems.push('MQTT_TLS_CLIENT_CERT: needs the TLS listener (TLS_CERT_FILE and TLS_KEY_FILE)');
  for (const v of ['RETENTION_RAW_DAYS', 'RETENTION_ROLLUP_DAYS'] as const) {
    if (e[v] > 0 && e[v] * 24 < 1) problems.push(`${v}: at least 1 hour (${(1 / 24).toFixed(4)} days), or 0 for forever`);
  }
  if (e.INFLUX_RETENTION_POLICY === e.INFLUX_ROLLUP_RETENTION_POLICY) problems.push('INFLUX_ROLLUP_RETENTION_POLICY: must differ from INFLUX_RETENTION_POLICY');
  if (e.WS_COALESCE_BYTES >= e.WS_MAX_BUFFERED_BYTES) problems.push('WS_COALESCE_BYTES: must be below WS_MAX_BUFFERED_BYTES');
  const alertWebhookUrls = parseWebhookUrls(e.ALERT_WEBHOOKS, problems);
  if (alertWebhookUrls.length > 0 && !e.ALERT_WEBHOOK_SECRET) problems.push('ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOKS is set');
  if (e.ALERT_WEBHOOK_BACKOFF_MAX_MS < e.ALERT_WEBHOOK_BACKOFF_BASE_MS) problems.push('ALERT_WEBHOOK_BACKOFF_MAX_MS: must be at least ALERT_WEBHOOK_BACKOFF_BASE_MS');
  if (e.API_LOGIN_LOCKOUT_MAX_MS < e.API_LOGIN_LOCKOUT_MS) problems.push('API_LOGIN_LOCKOUT_MAX_MS: must be at least API_LOGIN_LOCKOUT_MS');
  const trustProxy = parseTrustProxy(e.TRUST_PROXY, problems);
  if (e.QUANTRAC_ROLE !== 'all' && !e.NATS_URL) problems.push(`QUANTRAC_ROLE: ${e.QUANTRAC_ROLE} runs in cluster mode and needs NATS_URL`);
  if (problems.length > 0) throw new ConfigError(problems);
  const dataDir = resolve(e.DATA_DIR);
  return Object.freeze({
    ...e,
    influxApi,
    dataDir,
    spoolDir: resolve(dataDir, 'spool'),
    credentialsPath: resolve(dataDir, 'gateways.json'),
    auditLogPath: resolve(dataDir, 'audit.jsonl'),
    simCredentialsPath: resolve(dataDir, 'sim-credentials.json'),
    apiUsersPath: resolve(dataDir, 'users.json'),
    apiTokenSecretPath: resolve(dataDir, 'api-token-secret'),
    alertsDir: resolve(dataDir, 'alerts'),
    alertWebhookUrls: Object.freeze(alertWebhookUrls),
    trustProxy,
    natsServers: Object.freeze((e.NATS_URL ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '')),
  });
}

/** ALERT_WEBHOOKS: a JSON array of URLs or a comma-separated list; each must be http(s). */
function parseWebhookUrls(raw: string, problems: string[]): string[] {
  const text = raw.trim();
  if (text === '') return [];
  let items: unknown[];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      items = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      problems.push('ALERT_WEBHOOKS: not a valid JSON array');
      return [];
    }
  } else items = text.split(',').map((u) => u.trim()).filter((u) => u !== '');
  const urls: string[] = [];
  for (const item of items) {
    const ok = typeof item === 'string' && URL.canParse(item) && /^https?:$/.test(new URL(item).protocol);
    if (ok) urls.push(item);
    else problems.push(`ALERT_WEBHOOKS: ${JSON.stringify(item)} is not an http(s) URL`);
  }
  return urls;
}

/**
 * TRUST_PROXY: `false`/`0` (clients connect directly), a hop count, or a comma list of proxy
 * addresses or CIDRs. `true` (believe any X-Forwarded-For) is refused: any client could then pick
 * its own address and walk around the per-address limits.
 */
function parseTrustProxy(raw: string, problems: string[]): false | number | readonly string[] {
  const text = raw.trim();
  if (text === '' || text === 'false' || text === '0') return false;
  if (/^\d+$/.test(text)) return Number(text);
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s) && !['loopback', 'linklocal', 'uniquelocal'].includes(s));
  if (bad.length > 0 || items.length === 0) {
    problems.push(`TRUST_PROXY: ${JSON.stringify(raw)} is not false, a hop count or a list of addresses/CIDRs (loopback, linklocal, uniquelocal allowed)`);
    return false;
  }
  return Object.freeze(items);
}
