// CSV export of one station's stored readings (raw up to API_MAX_RANGE_DAYS, hourly or daily
// rollups for longer ranges or on request, named in `X-Source`), streamed page by page from InfluxDB (time-cursor
// paging), capped at `maxRows` rows; the cap is announced in `X-Row-Cap` and, when reached, in a
// trailing `# truncated …` comment row.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { DAY_MS, ExportQuerySchema, type SeriesSource } from '../../contracts/api.ts';
import { hanoiDayStart, hourStart, rollupFieldNames, statsMeasurement } from '../../contracts/rollups.ts';
import { PARAMETERS } from '../../contracts/parameters.ts';
import { QARTOD, qualityFromRow, statusFromRow, valueFromRow } from '../../contracts/quality.ts';
import type { Registry, Station } from '../../contracts/stations.ts';
import type { InfluxHttp } from '../../ingest/influx/influx-http.ts';
import { quoteIdent, quoteString } from '../../ingest/influx/influx-http.ts';
import { ApiError } from '../errors.ts';
import { isExcluded } from '../../contracts/validations.ts';
import type { ValidationStore } from '../validation-store.ts';
import { seriesRows } from '../snapshot.ts';
import { parseOr400 } from '../validate.ts';

export interface ExportRoutesDeps {
  readonly registry: Registry;
  readonly influx: InfluxHttp;
  /** Reads the rollups; absent = `influx`. */
  readonly rollupInflux?: InfluxHttp | undefined;
  readonly maxRows: number;
  readonly maxRangeMs: number;
  /** Officers' validation marks, shown in the raw export's `validation` column. */
  readonly validations?: ValidationStore | undefined;
}

const PAGE_ROWS = 10_000;
const csvCell = (v: unknown) => (v === undefined || v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

/** Raw rows, or hourly / daily rollup rows (README › Rollups: one column per rollup field). */
interface CsvShape {
  readonly measurement: string;
  readonly columns: readonly string[];
  readonly cells: (row: Record<string, unknown>) => unknown[];
}

function csvShape(station: Station, source: SeriesSource): CsvShape {
  const params = Object.keys(PARAMETERS[station.kind]);
  if (source === 'raw') {
    // Per parameter its value (usable or not) and its QARTOD flag (1 pass … 4 fail, 9 missing: the
    // reading did not carry it; docs/qartod.md); `status` is the station's (measuring, calibrating,
    // fault); `qc` names the tests not passed.
    return {
      measurement: station.kind,
      columns: ['status', ...params.flatMap((p) => [p, `${p}_qc`]), 'qc'],
      cells: (r) => {
        const quality = qualityFromRow(r, params);
        const values = params.flatMap((p): (string | number)[] => {
          const v = valueFromRow(r, p);
          return v === undefined ? ['', QARTOD.missing] : [v, quality[p]?.flag ?? QARTOD.pass];
        });
        return [statusFromRow(r), ...values, r.qc];
      },
    };
  }
  const period = source === 'hourly' ? '1h' : '1d';
  const river = station.kind === 'flood' && station.floodType === 'river';
  const columns = rollupFieldNames(station.kind, params, period, river);
  return { measurement: statsMeasurement(station.kind, period), columns, cells: (r) => columns.map((c) => r[c]) };
}

/**
 * `validationOf(ms)`, when given, fills a last `validation` column: the parameters an officer marked
 * invalid at that time (`pm25:invalid`, comma-separated). The values stay in the export, marked.
 */
async function* csvLines(http: InfluxHttp, station: Station, shape: CsvShape, fromMs: number, toMs: number, maxRows: number, validationOf?: (ms: number) => string): AsyncGenerator<string> {
  const params = shape.columns;
  yield `${['time', 'station', ...params, ...(validationOf ? ['validation'] : [])].join(',')}\n`;
  let cursor = fromMs - 1;
  let sent = 0;
  for (;;) {
    const limit = Math.min(PAGE_ROWS, maxRows - sent + 1);
    const q = `SELECT * FROM ${quoteIdent(shape.measurement)} WHERE "station" = ${quoteString(station.id)} AND time > ${cursor}ms AND time < ${toMs}ms ORDER BY time ASC LIMIT ${limit}`;
    const [series] = await http.query(q);
    const rows = series?.[0] ? seriesRows(series[0]) : [];
    let chunk = '';
    for (const r of rows) {
      if (sent === maxRows) {
        yield chunk;
        yield `# truncated at ${maxRows} rows (X-Row-Cap); narrow the time range for the rest\n`;
        return;
      }
      chunk += `${[new Date(r.time as number).toISOString(), station.id, ...shape.cells(r), ...(validationOf ? [validationOf(r.time as number)] : [])].map(csvCell).join(',')}\n`;
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
    const spanMs = toMs - fromMs;
    // Raw readings up to the range cap; past it the hourly rollups for a year, the daily beyond.
    const source: SeriesSource = q.source ?? (spanMs <= deps.maxRangeMs ? 'raw' : spanMs <= 366 * DAY_MS ? 'hourly' : 'daily');
    if (source === 'raw' && spanMs > deps.maxRangeMs) {
      throw new ApiError('RANGE_TOO_LARGE', `at most ${Math.floor(deps.maxRangeMs / DAY_MS)} days of raw readings per export; source=hourly or source=daily export the rollups of longer ranges`);
    }
    const from = source === 'raw' ? fromMs : source === 'hourly' ? hourStart(fromMs) : hanoiDayStart(fromMs);
    // The first page is read before the headers go out, so a database failure is still a 503.
    const index = deps.validations?.index();
    const marked = (ms: number) => Object.keys(PARAMETERS[station.kind]).filter((p) => index && isExcluded(index, station.id, p, ms)).map((p) => `${p}:invalid`).join(',');
    const lines = csvLines(source === 'raw' ? deps.influx : (deps.rollupInflux ?? deps.influx), station, csvShape(station, source), from, toMs, deps.maxRows, source === 'raw' ? marked : undefined);
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
      .header('x-source', source)
      .header('content-disposition', `attachment; filename="${station.id}_${new Date(fromMs).toISOString().slice(0, 10)}.csv"`)
      .send(Readable.from(all()));
  });
}
