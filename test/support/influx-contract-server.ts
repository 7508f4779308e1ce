// A small HTTP server that answers as the official API specifications of InfluxDB OSS 2.x and
// InfluxDB 3 Core document (status codes, headers, bodies): the contract quantrac is tested against
// for the servers Debian does not ship. Each answer cites its source; docs/influxdb-compat.md
// copies the facts. It stores points in memory and answers InfluxQL `SELECT * FROM "m"` only.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Generation = 2 | 3;

interface StoredPoint {
  readonly measurement: string;
  readonly tags: string;
  readonly fields: Record<string, string>;
  readonly ts: number;
}

export interface ContractServer {
  readonly url: string;
  readonly token: string;
  /** 2.x buckets / 3.x databases that exist. */
  readonly databases: Set<string>;
  /** Every request, for asserting what quantrac sent. */
  readonly requests: { method: string; path: string; query: URLSearchParams; authorization: string | undefined; body: string }[];
  /** Stored points per database, keyed by series and time (a rewrite overwrites). */
  points(db: string): StoredPoint[];
  close(): Promise<void>;
}

/** A parsed line, or the reason it is refused. Enough line protocol for quantrac's points. */
function parseLine(line: string): { point: StoredPoint } | { error: string } {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += c + line[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ' ' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  if (parts.length < 2 || parts[1] === '') return { error: 'No fields were provided' };
  const [series, fieldText, tsText] = parts as [string, string, string | undefined];
  const comma = series.search(/(?<!\\),/);
  const measurement = comma < 0 ? series : series.slice(0, comma);
  const fields: Record<string, string> = {};
  for (const kv of fieldText.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) return { error: `invalid field: ${kv}` };
    const value = kv.slice(eq + 1);
    const type = value.startsWith('"') ? 'string' : /^-?\d+i$/.test(value) ? 'integer' : /^(t|f|true|false)$/i.test(value) ? 'boolean' : Number.isFinite(Number(value)) && value !== '' ? 'float' : undefined;
    if (!type) return { error: `invalid field value: ${value}` };
    fields[kv.slice(0, eq)] = `${type}:${value}`;
  }
  const ts = Number(tsText);
  if (tsText !== undefined && !Number.isSafeInteger(ts)) return { error: `invalid timestamp: ${tsText}` };
  return { point: { measurement, tags: comma < 0 ? '' : series.slice(comma + 1), fields, ts } };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void =>
  void
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));

export async function startContractServer(generation: Generation, opts: { token?: string; databases?: string[]; maxBodyBytes?: number } = {}): Promise<ContractServer> {
  const token = opts.token ?? 'contract-token';
  const databases = new Set(opts.databases ?? ['quantrac']);
  const store = new Map<string, Map<string, StoredPoint>>();
  const fieldTypes = new Map<string, string>(); // db|measurement|field → type
  const requests: ContractServer['requests'] = [];

  /** Which Authorization forms the endpoint accepts (v2 OpenAPI TokenAuthentication; v3 securitySchemes). */
  function authorized(req: IncomingMessage, path: string): boolean {
    const h = req.headers.authorization ?? '';
    if (generation === 2) return h === `Token ${token}`;
    const compat = path === '/api/v2/write' || path === '/write' || path === '/query';
    const basic = h.startsWith('Basic ') && Buffer.from(h.slice(6), 'base64').toString().split(':').slice(1).join(':') === token;
    return h === `Bearer ${token}` || (compat && h === `Token ${token}`) || ((path === '/write' || path === '/query') && basic);
  }

  const unauthorized = (res: ServerResponse) =>
    generation === 2
      ? json(res, 401, { code: 'unauthorized', message: 'unauthorized access' }) // v2 AuthorizationError example
      : json(res, 401, { error: 'unauthorized access', data: null }); // v3 ErrorMessage schema

  function write(db: string, body: string, res: ServerResponse): void {
    const lines = body.split('\n').filter((l) => l.trim() !== '');
    const refused: { line: string; n: number; reason: string }[] = [];
    const good: StoredPoint[] = [];
    for (const [i, line] of lines.entries()) {
      const parsed = parseLine(line);
      if ('error' in parsed) {
        refused.push({ line, n: i + 1, reason: parsed.error });
        continue;
      }
      const conflict = Object.entries(parsed.point.fields).find(([f, v]) => {
        const known = fieldTypes.get(`${db}|${parsed.point.measurement}|${f}`);
        return known !== undefined && known !== v.split(':')[0];
      });
      if (conflict) {
        const known = fieldTypes.get(`${db}|${parsed.point.measurement}|${conflict[0]}`);
        refused.push({ line, n: i + 1, reason: `invalid column type for column '${conflict[0]}', expected ${known}, got ${conflict[1].split(':')[0]}` });
        continue;
      }
      good.push(parsed.point);
    }
    // 2.x: a malformed line rejects the whole batch with 400 and the first bad line (v2 OpenAPI
    // POST /api/v2/write 400: "All request data was rejected and not written").
    if (generation === 2 && refused.some((r) => !r.reason.startsWith('invalid column type'))) {
      const first = refused.find((r) => !r.reason.startsWith('invalid column type'))!;
      return json(res, 400, { code: 'invalid', message: `unable to parse '${first.line}': ${first.reason}`, line: first.n });
    }
    const table = store.get(db) ?? new Map<string, StoredPoint>();
    store.set(db, table);
    for (const p of good) {
      for (const [f, v] of Object.entries(p.fields)) fieldTypes.set(`${db}|${p.measurement}|${f}`, v.split(':')[0]!);
      table.set(`${p.measurement},${p.tags} ${p.ts}`, p);
    }
    if (refused.length === 0) return void res.writeHead(204).end();
    if (generation === 2) {
      // 2.x partial write: 422, the good points stored (docs "Troubleshoot issues writing data", v2).
      return json(res, 422, { code: 'unprocessable entity', message: `failure writing points to database: partial write: ${refused[0]!.reason} dropped=${refused.length}` });
    }
    // 3.x: 400 listing up to 100 refused lines; the others are stored (InfluxDB 3 Core OpenAPI).
    json(res, 400, {
      error: good.length > 0 ? 'partial write of line protocol occurred' : 'write of line protocol failed',
      data: refused.slice(0, 100).map((r) => ({ original_line: r.line, line_number: r.n, error_message: r.reason })),
    });
  }

  function query(db: string | null, q: string, res: ServerResponse): void {
    if (generation === 3 && (!db || !databases.has(db))) return json(res, 404, { error: `database not found: ${db}`, data: null });
    const m = /^SELECT \* FROM "([^"]+)"/i.exec(q);
    if (!m) return json(res, 200, { results: [{ statement_id: 0, error: `unsupported statement: ${q}` }] });
    const rows = [...(store.get(db ?? '')?.values() ?? [])].filter((p) => p.measurement === m[1]).sort((a, b) => a.ts - b.ts);
    const columns = ['time', ...new Set(rows.flatMap((r) => Object.keys(r.fields)))];
    const values = rows.map((r) => columns.map((c) => (c === 'time' ? r.ts : (r.fields[c]?.split(':').slice(1).join(':') ?? null))));
    json(res, 200, { results: [{ statement_id: 0, ...(rows.length > 0 ? { series: [{ name: m[1], columns, values }] } : {}) }] });
  }

  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      requests.push({ method: req.method ?? '', path, query: url.searchParams, authorization: req.headers.authorization, body });
      if (path === '/ping') {
        // 2.x: 204 with X-Influxdb-Version/Build, no auth (v2 OpenAPI GET /ping). 3.x: 200 with a
        // JSON body, x-influxdb-version/build; 401 when authentication is required (v3 OpenAPI).
        if (generation === 2) return void res.writeHead(204, { 'X-Influxdb-Build': 'OSS', 'X-Influxdb-Version': 'v2.7.11' }).end();
        if (!authorized(req, path)) return unauthorized(res);
        return json(res, 200, { version: '3.8.0', revision: '83b589b883', process_id: 'b756d9e0' }, { 'x-influxdb-version': '3.8.0', 'x-influxdb-build': 'Core' });
      }
      if (!authorized(req, path)) return unauthorized(res);
      if (opts.maxBodyBytes !== undefined && Buffer.byteLength(body) > opts.maxBodyBytes) {
        return json(res, 413, generation === 2 ? { code: 'request too large', message: 'unable to read data: points batch is too large' } : { error: 'Request entity too large', data: null });
      }
      if (generation === 2 && path === '/api/v2/buckets' && req.method === 'GET') {
        const name = url.searchParams.get('name');
        return json(res, 200, { buckets: name && databases.has(name) ? [{ id: '77ca9dace40a9bfc', name, orgID: 'INFLUX_ORG_ID', type: 'user', retentionRules: [] }] : [] });
      }
      if (generation === 3 && path === '/api/v3/configure/database') {
        if (req.method === 'GET') {
          if (!url.searchParams.get('format')) return json(res, 400, { error: 'missing format', data: null });
          return json(res, 200, { databases: [...databases] });
        }
        if (req.method === 'POST') {
          const db = (JSON.parse(body || '{}') as { db?: string }).db;
          if (!db) return json(res, 400, { error: 'db is required', data: null });
          if (databases.has(db)) return json(res, 409, { error: 'attempted to create a resource that already exists', data: null });
          databases.add(db);
          return void res.writeHead(200).end();
        }
      }
      if (path === '/api/v2/write' && req.method === 'POST') {
        const db = url.searchParams.get('bucket') ?? '';
        if (generation === 2 && !databases.has(db)) return json(res, 404, { code: 'not found', message: `bucket "${db}" not found` });
        if (generation === 3) databases.add(db); // "creates the database if it doesn't already exist"
        return write(db, body, res);
      }
      // 3.x's v1 compatibility write: `db` names the database; partial writes answer as on
      // /api/v2/write (InfluxDB 3 Core OpenAPI `POST /write`: the 400 examples are given there).
      if (generation === 3 && path === '/write' && req.method === 'POST') {
        const db = url.searchParams.get('db');
        if (!db) return json(res, 400, { error: 'missing query parameter: db', data: null });
        databases.add(db);
        return write(db, body, res);
      }
      if (path === '/query' && (req.method === 'GET' || req.method === 'POST')) return query(url.searchParams.get('db'), url.searchParams.get('q') ?? '', res);
      // Paths the server does not have (3.x has no /api/v2/buckets).
      json(res, 404, generation === 2 ? { code: 'not found', message: 'path not found' } : { error: 'not found', data: null });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    databases,
    requests,
    points: (db) => [...(store.get(db)?.values() ?? [])],
    close: () => new Promise((r) => server.close(() => r())),
  };
}
