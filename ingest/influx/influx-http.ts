// The one place that speaks HTTP to InfluxDB: line-protocol writes (1.x `/write`, 2.x/3.x
// `/api/v2/write`), InfluxQL queries over `/query` (all three versions), and database set-up,
// which depends on the server found by /ping (server-kind.ts; facts in docs/influxdb-compat.md).
// It turns HTTP outcomes into typed write errors; retrying is the writer's job, never done here.
import { HttpError, InfluxDB, RequestTimedOutError, type HttpHeaders } from '@influxdata/influxdb-client';
import { retentionStatements, type RetentionPolicySpec } from './retention.ts';
import {
  DatabaseUnavailableError,
  DatabaseMissingError,
  InfluxAuthError,
  RejectedWriteError,
  RetryableWriteError,
  TooLargeWriteError,
} from './errors.ts';
import { parseRefusedLines } from './partial-write.ts';
import { authorization, identifyServer, type AuthScheme, type InfluxServer } from './server-kind.ts';

export interface InfluxTarget {
  readonly url: string;
  /** `v1`: database + retention policy through /write; `v2`: org + bucket + token through /api/v2/write. */
  readonly api: 'v1' | 'v2';
  readonly database: string;
  readonly retentionPolicy?: string | undefined;
  readonly org?: string | undefined;
  readonly bucket?: string | undefined;
  readonly token?: string | undefined;
  /** Authorization scheme for the token; `auto`: Bearer for InfluxDB 3.x, Token otherwise. */
  readonly authScheme?: AuthScheme | 'auto' | undefined;
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
  /**
   * Start-up set-up, by server: 1.x creates the database (idempotent); 2.x checks that the bucket
   * exists; 3.x checks the database list and creates the database when missing; a server that
   * does not name itself (e.g. VictoriaMetrics) needs none. Throws DatabaseMissingError or
   * InfluxAuthError with what to fix.
   */
  ensureDatabase(): Promise<void>;
  ping(): Promise<boolean>;
  /** The server found by the last successful /ping (undefined before one). */
  server(): InfluxServer | undefined;
}

const V1_PRECISION = 'ms';

export function createInfluxHttp(target: InfluxTarget): InfluxHttp {
  // The token goes in our own Authorization header: its scheme depends on the server.
  const client = new InfluxDB({ url: target.url, timeout: target.timeoutMs });
  const transport = client.transport;
  let server: InfluxServer | undefined;
  const auth = (): Record<string, string> =>
    target.token ? { authorization: authorization(target.token, target.authScheme ?? 'auto', server) } : {};
  /** For 3.x's own endpoints (/ping, /api/v3/…): Bearer is the only form they take. */
  const bearer = (): Record<string, string> => (target.token ? { authorization: authorization(target.token, 'bearer', server) } : {});
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
        headers: { 'content-type': 'text/plain; charset=utf-8', ...auth() },
      });
    } catch (err) {
      throw classifyWriteError(err);
    }
  }

  async function rawQuery(q: string, method: 'GET' | 'POST'): Promise<InfluxSeries[][]> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (!/^\s*create\s+database/i.test(q)) params.set('db', queryDb);
    if (target.api === 'v1' && target.retentionPolicy) params.set('rp', target.retentionPolicy);
    let body: { results?: { error?: string; series?: InfluxSeries[] }[]; error?: string } | string;
    try {
      body = (await transport.request(`/query?${params}`, '', { method, headers: { accept: 'application/json', ...auth() } })) as typeof body;
    } catch (err) {
      // Unreachable, timing out or answering an HTTP error: the database is unavailable to us (the API
      // answers 503); an InfluxQL error inside a 200 answer below is our bug (500).
      throw new DatabaseUnavailableError(`InfluxDB query failed: ${err instanceof HttpError ? `HTTP ${err.statusCode}: ${errorMessage(err)}` : err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const parsed = typeof body === 'string' ? (JSON.parse(body) as Exclude<typeof body, string>) : body;
    // InfluxDB answers 200 with the error inside the JSON: a missing database means the data is
    // unavailable (503 in the API); any other is a statement we got wrong (500).
    const fail = (error: string) => (/database not found/i.test(error) ? new DatabaseUnavailableError(`InfluxQL error: ${error}`) : new Error(`InfluxQL error: ${error}`));
    if (parsed.error) throw fail(parsed.error);
    return (parsed.results ?? []).map((r) => {
      if (r.error) throw fail(r.error);
      return r.series ?? [];
    });
  }

  /**
   * Pings and remembers which server answered: the server, or why not — `refused` when it answered
   * 401/403 (3.x may require the token on /ping: a wrong INFLUX_TOKEN, not an outage).
   */
  async function identify(): Promise<InfluxServer | { refused: HttpError } | undefined> {
    let headers: HttpHeaders = {};
    try {
      // Bearer whatever INFLUX_AUTH_SCHEME says: 3.x may require authentication on /ping and
      // takes only Bearer outside its v1/v2 compatibility endpoints (a forced `basic` or `token`
      // would be refused there); 1.x and 2.x answer /ping without looking at credentials.
      await transport.request('/ping', '', { method: 'GET', headers: bearer() }, (h) => (headers = h));
    } catch (err) {
      if (err instanceof HttpError && (err.statusCode === 401 || err.statusCode === 403)) return { refused: err };
      return undefined;
    }
    server = identifyServer(headers);
    return server;
  }

  /** A set-up request; 401/403 become InfluxAuthError naming the setting to fix. */
  async function setup(path: string, method: 'GET' | 'POST', body = ''): Promise<unknown> {
    const credentials = path.startsWith('/api/v3/') ? bearer() : auth();
    try {
      return await transport.request(path, body, { method, headers: { ...credentials, ...(body ? { 'content-type': 'application/json' } : {}) } });
    } catch (err) {
      if (err instanceof HttpError && (err.statusCode === 401 || err.statusCode === 403)) {
        throw new InfluxAuthError(`InfluxDB refused the token on ${path} (HTTP ${err.statusCode}: ${errorMessage(err)}); check INFLUX_TOKEN`, { cause: err });
      }
      throw err;
    }
  }

  async function ensureDatabase(): Promise<void> {
    const found = await identify();
    if (!found) throw new Error(`InfluxDB at ${target.url} does not answer /ping`);
    if ('refused' in found) {
      const err = found.refused;
      throw new InfluxAuthError(`InfluxDB refused the token on /ping (HTTP ${err.statusCode}: ${errorMessage(err)}); check INFLUX_TOKEN`, { cause: err });
    }
    const name = target.api === 'v1' ? target.database : (target.bucket ?? target.database);
    if (found.generation === 3) return ensureV3Database(name);
    if (target.api === 'v1') {
      // 2.x maps database/retention policy onto buckets and has no CREATE DATABASE; other servers
      // (VictoriaMetrics) accept any database name on /write.
      if (found.generation !== 1) return;
      await rawQuery(`CREATE DATABASE ${quoteIdent(target.database)}`, 'POST');
      if (!target.retentionPolicies?.length) return;
      const [existing = []] = await rawQuery(`SHOW RETENTION POLICIES ON ${quoteIdent(target.database)}`, 'GET');
      const statements = retentionStatements(target.database, existing, target.retentionPolicies);
      if (statements.length > 0) await rawQuery(statements.join(';\n'), 'POST');
      return;
    }
    if (found.generation === undefined) return; // not InfluxDB: no buckets API to ask
    const path = `/api/v2/buckets?${new URLSearchParams({ name, ...(target.org ? { org: target.org } : {}) })}`;
    const res = (await setup(path, 'GET')) as { buckets?: unknown[] };
    if (!res.buckets || res.buckets.length === 0) {
      throw new DatabaseMissingError(`bucket "${name}" does not exist in org "${target.org ?? ''}"; create it first`);
    }
  }

  /**
   * InfluxDB 3 has no /api/v2/buckets: list databases (`GET /api/v3/configure/database?format=json`)
   * and create a missing one (`POST /api/v3/configure/database {"db"}`; 409 = it exists). A token
   * scoped to one database may not list them (401/403): then writes create the database
   * themselves (/api/v2/write "creates the database if it doesn't already exist").
   */
  async function ensureV3Database(name: string): Promise<void> {
    let listed: unknown;
    try {
      listed = await setup('/api/v3/configure/database?format=json', 'GET');
    } catch (err) {
      if (err instanceof InfluxAuthError) return;
      throw err;
    }
    if (databaseNames(listed).includes(name)) return;
    try {
      await setup('/api/v3/configure/database', 'POST', JSON.stringify({ db: name }));
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 409) return;
      throw err;
    }
  }

  /** True when the server answered /ping and took the token (a refused token is not ready). */
  async function ping(): Promise<boolean> {
    const found = await identify();
    return found !== undefined && !('refused' in found);
  }

  return { write, query: (q) => rawQuery(q, 'GET'), command: (q) => rawQuery(q, 'POST'), ensureDatabase, ping, server: () => server };
}

/**
 * Database names in a 3.x list: the OpenAPI schema says `{"databases": [name, …]}`; rows of a
 * `SHOW DATABASES`-like table (`[{"iox::database": name}]`) are read too.
 */
export function databaseNames(listed: unknown): string[] {
  const parsed = typeof listed === 'string' ? (JSON.parse(listed || '[]') as unknown) : listed;
  const rows = Array.isArray(parsed) ? parsed : ((parsed as { databases?: unknown[] } | null)?.databases ?? []);
  return rows.flatMap((r) => (typeof r === 'string' ? [r] : typeof r === 'object' && r ? Object.values(r).filter((v): v is string => typeof v === 'string') : []));
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The JSON body of an error answer (the client parses it only for a JSON content type). */
function jsonOf(err: HttpError): unknown {
  if (err.json !== undefined) return err.json;
  try {
    return err.body ? JSON.parse(err.body) : undefined;
  } catch {
    return undefined;
  }
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
    if (err.statusCode === 400 || err.statusCode === 422) return new RejectedWriteError(msg, parseRefusedLines(jsonOf(err)), { cause: err });
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
