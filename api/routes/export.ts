// CSV export of one station's stored readings, streamed page by page from InfluxDB (time-cursor
// paging), capped at `maxRows` rows; the cap is announced in `X-Row-Cap` and, when reached, in a
// trailing `# truncated …` comment row.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { DAY_MS, ExportQuerySchema } from '../../contracts/api.ts';
import { PARAMETERS } from '../../contracts/parameters.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { quoteIdent, quoteString } from '../../ingest/influx/influx-http.ts';
import { ApiError } from '../errors.ts';
import { seriesRows } from '../snapshot.ts';
import { parseOr400 } from '../validate.ts';

export interface ExportRoutesDeps {
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  readonly maxRows: number;
  readonly maxRangeMs: number;
}

const PAGE_ROWS = 10_000;
const csvCell = (v: unknown) => (v === undefined || v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

async function* csvLines(http: InfluxHttp, station: Station, fromMs: number, toMs: number, maxRows: number): AsyncGenerator<string> {
  const params = Object.keys(PARAMETERS[station.kind]);
  yield `${['time', 'station', ...params, 'qc'].join(',')}\n`;
  let cursor = fromMs - 1;
  let sent = 0;
  for (;;) {
    const limit = Math.min(PAGE_ROWS, maxRows - sent + 1);
    const q = `SELECT * FROM ${quoteIdent(station.kind)} WHERE "station" = ${quoteString(station.id)} AND time > ${cursor}ms AND time < ${toMs}ms ORDER BY time ASC LIMIT ${limit}`;
    const [series] = await http.query(q);
    const rows = series?.[0] ? seriesRows(series[0]) : [];
    let chunk = '';
    for (const r of rows) {
      if (sent === maxRows) {
        yield chunk;
        yield `# truncated at ${maxRows} rows (X-Row-Cap); narrow the time range for the rest\n`;
        return;
      }
      chunk += `${[new Date(r.time as number).toISOString(), station.id, ...params.map((p) => r[p]), r.qc].map(csvCell).join(',')}\n`;
      sent++;
      cursor = r.time as number;
    }
    if (chunk) yield chunk;
    if (rows.length < limit) return;
  }
}

export async function exportRoutes(app: FastifyInstance, deps: ExportRoutesDeps): Promise<void> {
  app.get('/api/export.csv', async (req, reply) => {
    const q = parseOr400(ExportQuerySchema, req.query);
    const station = deps.registry.get(q.station);
    if (!station) throw new ApiError('STATION_NOT_FOUND', `no station ${q.station}`);
    const toMs = q.to ?? Date.now();
    const fromMs = q.from ?? toMs - DAY_MS;
    if (!(fromMs < toMs)) throw new ApiError('BAD_QUERY', '"from" must be before "to"');
    if (toMs - fromMs > deps.maxRangeMs) throw new ApiError('RANGE_TOO_LARGE', `at most ${Math.floor(deps.maxRangeMs / DAY_MS)} days per export`);
    // The first page is read before the headers go out, so a database failure is still a 503.
    const lines = csvLines(deps.influx, station, fromMs, toMs, deps.maxRows);
    const header = await lines.next();
    const first = await lines.next();
    async function* all() {
      if (!header.done) yield header.value;
      if (!first.done) yield first.value;
      yield* lines;
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('x-row-cap', String(deps.maxRows))
      .header('content-disposition', `attachment; filename="${station.id}_${new Date(fromMs).toISOString().slice(0, 10)}.csv"`)
      .send(Readable.from(all()));
  });
}
