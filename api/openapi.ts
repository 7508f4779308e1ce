// The OpenAPI 3.0 document of the public API, generated from the zod schemas in contracts/api.ts
// (the same ones the routes validate with) by zod 4's z.toJSONSchema.
import { z } from 'zod';
import * as C from '../contracts/api.ts';
import * as R from '../contracts/reports-api.ts';

interface Op {
  readonly summary: string;
  readonly tags: string[];
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly ok: z.ZodType | 'csv' | 'geojson-any';
  readonly auth?: boolean;
  readonly cached?: boolean;
  readonly description?: string;
  /** Success status when not 200 (201 Created). */
  readonly status?: number;
  /** Also answers text/csv (format=csv). */
  readonly csvToo?: boolean;
}

const OPS: Record<string, Record<string, Op>> = {
  '/api/stations': { get: { summary: 'Stations of the registry, filtered and paged', tags: ['stations'], query: C.StationsQuerySchema, ok: C.StationsResponseSchema } },
  '/api/stations.geojson': { get: { summary: 'Stations as a GeoJSON FeatureCollection (Point [lon, lat])', tags: ['stations'], query: C.StationsQuerySchema.omit({ limit: true, offset: true }), ok: C.StationsGeoJsonSchema } },
  '/api/stations/{id}': { get: { summary: 'One station', tags: ['stations'], params: C.StationIdParamsSchema, ok: z.object({}).loose() } },
  '/api/stations/{id}/latest': { get: { summary: "A station's latest stored reading", tags: ['stations'], params: C.StationIdParamsSchema, ok: C.StationLatestResponseSchema } },
  '/api/stations/{id}/readings': {
    get: { summary: 'Mean/min/max/count per parameter in time buckets (every 1m..366d or 1mo..12mo), from raw readings or the hourly/daily rollups by span (source)', tags: ['stations'], params: C.StationIdParamsSchema, query: C.ReadingsQuerySchema, ok: C.ReadingsResponseSchema, cached: true },
  },
  '/api/stations/{id}/aqi': {
    get: {
      summary: 'AQI series of an air station, hourly (NowCast) or daily (Hanoi days), VN_AQI or US scale',
      tags: ['aqi'],
      params: C.StationIdParamsSchema,
      query: C.StationAqiQuerySchema,
      ok: C.StationAqiResponseSchema,
      cached: true,
    },
  },
  '/api/aqi/areas': {
    get: { summary: 'Current hourly AQI per former district or ward: the highest station AQI of the area', tags: ['aqi'], query: C.AqiAreasQuerySchema, ok: C.AqiAreasResponseSchema, cached: true },
  },
  '/api/snapshot/{kind}': {
    get: {
      summary: 'City snapshot of one kind for maps (GeoJSON)',
      description: 'One database round per kind per cache period. Air: `aqi` (VN_AQI, or US_AQI with scale=us); river gauges: `flood`; rain: `rainMm1h`, `rainMm24h`; street points: `depthCm`.',
      tags: ['map'],
      params: C.KindParamsSchema,
      query: C.SnapshotQuerySchema,
      ok: C.SnapshotSchema,
      cached: true,
    },
  },
  '/api/reports/{scope}': {
    get: {
      summary: 'Monthly or annual report of a station, a ward or the city (open data), JSON or CSV',
      description:
        'scope = station (id = station id), ward (id = ward or commune name) or city. period = YYYY-MM or YYYY (Hanoi time). Air: days per daily VN_AQI category, QCVN 05:2023 exceedances (1 h hours, 8 h and 24 h days), the mean against the annual limit; water: QCVN 08:2023 class per month; rain: totals, wettest hour and 24 h; flood: hours at or above each level, the peak and its time; every kind: data completeness (valid hour ≥ 75 % of readings, valid day ≥ 18 valid hours; docs/reports.md). format=csv: one figure per row.',
      tags: ['reports'],
      params: R.ReportScopeParamsSchema,
      query: R.ReportQuerySchema,
      ok: R.ReportSchema,
      csvToo: true,
      cached: true,
    },
  },
  '/api/alerts/public': { get: { summary: 'Active warnings (no officer details)', tags: ['alerts'], ok: C.PublicAlertsResponseSchema } },
  '/api/export.csv': { get: { summary: "A station's stored readings as CSV, row-capped (X-Row-Cap header; trailing # comment when truncated)", tags: ['export'], query: C.ExportQuerySchema, ok: 'csv' } },
  '/api/auth/login': { post: { summary: 'Officer/operator login: a signed bearer token', tags: ['auth'], body: C.LoginRequestSchema, ok: C.LoginResponseSchema } },
  '/api/auth/me': { get: { summary: 'Who the bearer token belongs to', tags: ['auth'], ok: C.MeResponseSchema, auth: true } },
  '/api/stations/{id}/validations': {
    get: { summary: "Officers' validation marks of a station and the ranges they exclude, per parameter (officer or operator)", tags: ['validation'], params: C.StationIdParamsSchema, query: C.ValidationListQuerySchema, ok: C.ValidationListSchema, auth: true },
    post: {
      summary: 'Mark a time range of one parameter invalid (or valid again) with a reason (officer or operator; audited)',
      description: 'Excluded values are left out of AQI, series and rollups from then on, and marked in the raw CSV export (`validation` column). Later marks override earlier ones over their range.',
      tags: ['validation'],
      params: C.StationIdParamsSchema,
      body: C.ValidationCreateSchema,
      ok: C.ValidationMarkSchema,
      status: 201,
      auth: true,
    },
  },
  '/api/stations/{id}/validations/{markId}': {
    delete: { summary: 'Undo a mark (kept in the record as revoked; audited)', tags: ['validation'], params: C.StationIdParamsSchema.extend({ markId: z.string() }), body: C.ValidationRevokeSchema, ok: C.ValidationMarkSchema, auth: true },
  },
};

const toSchema = (s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io, target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

export function buildOpenApi(info: { readonly version: string }): Record<string, unknown> {
  const components: Record<string, unknown> = {};
  const hoist = (schema: Record<string, unknown>) => {
    const { definitions, ...rest } = schema as { definitions?: Record<string, unknown> };
    Object.assign(components, definitions ?? {});
    return rest;
  };
  const err = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const paths: Record<string, unknown> = {};
  for (const [path, methods] of Object.entries(OPS)) {
    paths[path] = Object.fromEntries(
      Object.entries(methods).map(([method, op]) => {
        const parameters = [
          ...Object.entries(op.params ? (toSchema(op.params, 'input').properties as object) : {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
          ...Object.entries(op.query ? (toSchema(op.query, 'input').properties as object) : {}).map(([name, schema]) => ({
            name,
            in: 'query',
            required: ((toSchema(op.query!, 'input').required as string[] | undefined) ?? []).includes(name),
            schema,
          })),
        ];
        const okContent =
          op.ok === 'csv'
            ? { 'text/csv': { schema: { type: 'string' } } }
            : op.ok === 'geojson-any'
              ? { 'application/geo+json': { schema: {} } }
              : { 'application/json': { schema: hoist(toSchema(op.ok, 'output')) }, ...(op.csvToo ? { 'text/csv': { schema: { type: 'string' } } } : {}) };
        return [
          method,
          {
            summary: op.summary,
            ...(op.description ? { description: op.description } : {}),
            tags: op.tags,
            ...(parameters.length ? { parameters } : {}),
            ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: hoist(toSchema(op.body, 'input')) } } } } : {}),
            ...(op.auth ? { security: [{ bearer: [] }] } : {}),
            responses: {
              [op.status ?? 200]: { description: op.status === 201 ? 'Created' : op.cached ? 'OK (ETag + Cache-Control; 304 on If-None-Match)' : 'OK', content: okContent },
              ...(op.cached ? { 304: { description: 'not modified' } } : {}),
              400: err,
              ...(op.auth || op.body ? { 401: err, 403: err } : {}),
              404: err,
              429: err,
              503: err,
            },
          },
        ];
      }),
    );
  }
  hoist(toSchema(C.ErrorSchema, 'output')); // registers components.Error (the schema has an id)
  const doc = {
    openapi: '3.0.3',
    info: { title: 'quantrac public API', version: info.version, description: 'Environmental monitoring data for Hanoi. Live readings: WebSocket /ws/live (see api/README.md).' },
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
  return JSON.parse(JSON.stringify(doc).replaceAll('#/definitions/', '#/components/schemas/')) as Record<string, unknown>;
}
