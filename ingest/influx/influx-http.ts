// The one place that speaks HTTP to InfluxDB: line-protocol writes (1.x `/write`, 2.x/3.x
// `/api/v2/write`), InfluxQL queries over `/query` (all three versions), and database set-up.
// It turns HTTP outcomes into typed write errors; retrying is the writer's job, never done here.
import { HttpError, InfluxDB, RequestTimedOutError } from '@influxdata/influxdb-client';
import { retentionStatements, type RetentionPolicySpec } from './retention.ts';
import {
  DatabaseMissingError,
  RejectedWriteError,
  RetryableWriteError,
  TooLargeWriteError,
} from './errors.ts';

export interface InfluxTarget {
  readonly url: string;
  /** `v1`: database + retention policy through /write; `v2`: org + bucket + token through /api/v2/write. */
  readonly api: 'v1' | 'v2';
  readonly database: string;
  readonly retentionPolicy?: string | undefined;
  readonly org?: string | undefined;
  readonly bucket?: string | undefined;
  readonly token?: string | undefined;
  /** Socket timeout per request, ms. */
  readonly timeoutMs: number;
  /** 1.x: retention policies ensureDatabase() creates or alters (ingest/influx/retention.ts). */
  readonly retentionPolicies?: readonly RetentionPolicySpec[] | undefined;
}

export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Record<string, string>;
  readonly columns: string[];
  readonly values: unknown[][];
}

export interface InfluxHttp {
  /** Writes newline-separated points (ms precision); throws a typed write error on failure. */
  write(lines: string): Promise<void>;
  /** Runs InfluxQL read statements; returns one array of series per statement. */
  query(influxql: string): Promise<InfluxSeries[][]>;
  /** Runs InfluxQL statements that change the database (CREATE/ALTER, sent as POST). */
  command(influxql: string): Promise<InfluxSeries[][]>;
  /** Creates the 1.x database (idempotent) or checks that the 2.x/3.x bucket exists. */
  ensureDatabase(): Promise<void>;
  ping(): Promise<boolean>;
}

const V1_PRECISION = 'ms';

export function createInfluxHttp(target: InfluxTarget): InfluxHttp {
  const client = new InfluxDB({
    url: target.url,
    ...(target.token ? { token: target.token } : {}),
    timeout: target.timeoutMs,
  });
  const transport = client.transport;
  const writePath =
    target.api === 'v1'
      ? `/write?${new URLSearchParams({
          db: target.database,
          ...(target.retentionPolicy ? { rp: target.retentionPolicy } : {}),
          precision: V1_PRECISION,
        })}`
      : `/api/v2/write?${new URLSearchParams({
          org: target.org ?? '',
          bucket: target.bucket ?? target.database,
          precision: 'ms',
        })}`;
  const queryDb = target.api === 'v1' ? target.database : (target.bucket ?? target.database);

  async function write(lines: string): Promise<void> {
    try {
      await transport.request(writePath, lines, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    } catch (err) {
      throw classifyWriteError(err);
    }
  }

  async function rawQuery(q: string, method: 'GET' | 'POST'): Promise<InfluxSeries[][]> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (!/^\s*create\s+database/i.test(q)) params.set('db', queryDb);
    if (target.api === 'v1' && target.retentionPolicy) params.set('rp', target.retentionPolicy);
    const body = (await transport.request(`/query?${params}`, '', {
      method,
      headers: { accept: 'application/json' },
    })) as { results?: { error?: string; series?: InfluxSeries[] }[]; error?: string } | string;
    const parsed = typeof body === 'string' ? (JSON.parse(body) as Exclude<typeof body, string>) : body;
    // InfluxDB answers 200 with the error inside the JSON (e.g. a missing database).
    if (parsed.error) throw new Error(`InfluxQL error: ${parsed.error}`);
    return (parsed.results ?? []).map((r) => {
      if (r.error) throw new Error(`InfluxQL error: ${r.error}`);
      return r.series ?? [];
    });
  }

  async function ensureDatabase(): Promise<void> {
    if (target.api === 'v1') {
      await rawQuery(`CREATE DATABASE ${quoteIdent(target.database)}`, 'POST');
      if (!target.retentionPolicies?.length) return;
      const [existing = []] = await rawQuery(`SHOW RETENTION POLICIES ON ${quoteIdent(target.database)}`, 'GET');
      const statements = retentionStatements(target.database, existing, target.retentionPolicies);
      if (statements.length > 0) await rawQuery(statements.join(';\n'), 'POST');
      return;
    }
    const bucket = target.bucket ?? target.database;
    const path = `/api/v2/buckets?${new URLSearchParams({ name: bucket, ...(target.org ? { org: target.org } : {}) })}`;
    const res = (await transport.request(path, '', { method: 'GET' })) as { buckets?: unknown[] };
    if (!res.buckets || res.buckets.length === 0) {
      throw new DatabaseMissingError(`bucket "${bucket}" does not exist in org "${target.org ?? ''}"; create it first`);
    }
  }

  async function ping(): Promise<boolean> {
    try {
      await transport.request('/ping', '', { method: 'GET' });
      return true;
    } catch {
      return false;
    }
  }

  return { write, query: (q) => rawQuery(q, 'GET'), command: (q) => rawQuery(q, 'POST'), ensureDatabase, ping };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function errorMessage(err: HttpError): string {
  const json = err.json as { error?: string; message?: string } | undefined;
  return json?.error ?? json?.message ?? err.body ?? err.message;
}

/** Maps an HTTP outcome onto the writer's decision: retry, split, isolate, or (re)create. */
export function classifyWriteError(err: unknown): Error {
  if (err instanceof HttpError) {
    const msg = errorMessage(err);
    if (err.statusCode === 413) return new TooLargeWriteError(msg, { cause: err });
    if (err.statusCode === 400 || err.statusCode === 422) return new RejectedWriteError(msg, { cause: err });
    if (err.statusCode === 404 && /database not found|retention policy not found|bucket .*not found/i.test(msg)) {
      return new DatabaseMissingError(msg, { cause: err });
    }
    // 429 and 503 carry Retry-After; 5xx, 401/403 (a credentials problem an operator fixes) and
    // anything else are retried too: nothing acknowledged is ever dropped for a server's answer.
    const header = err.headers?.['retry-after'];
    const retryAfterMs = parseRetryAfter(Array.isArray(header) ? header[0] : header);
    return new RetryableWriteError(`HTTP ${err.statusCode}: ${msg}`, retryAfterMs, err.statusCode, { cause: err });
  }
  if (err instanceof RequestTimedOutError) return new RetryableWriteError('request timed out', undefined, undefined, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new RetryableWriteError(`network error: ${message}`, undefined, undefined, { cause: err });
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms; undefined if absent. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
