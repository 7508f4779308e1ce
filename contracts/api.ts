// The public API's wire contract: zod schemas of every request (query, params, body) and response,
// and of the /ws/live messages. api/ validates with them; api/openapi.ts documents them.
import { z } from 'zod';
import { AlertSchema } from './alerts.ts';
import { STATION_KINDS } from './parameters.ts';
import { ParameterQualitySchema, STATION_STATUSES } from './quality.ts';
import { LiveReadingSchema } from './reading.ts';
import { StationSchema } from './stations.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MINUTE_MS = UNIT_MS.m;
export const HOUR_MS = UNIT_MS.h;
export const DAY_MS = UNIT_MS.d;

export const KindSchema = z.enum(STATION_KINDS);

/** A calendar month as `every` (`1mo`..`12mo`) is carried as this many ms per month (see calendarMonths). */
export const MONTH_MS = 2_629_800_000; // 30.4375 days: no whole number of days is a multiple of it up to 12 months

/**
 * `every` as 1m..366d or 1mo..12mo: a number and a unit m, h, d or mo (5m, 1h, 1d, 1mo); parsed to
 * milliseconds (calendar months as multiples of MONTH_MS, see calendarMonths).
 */
export const EverySchema = z
  .string()
  .regex(/^(\d{1,4}[mhd]|\d{1,2}mo)$/, 'every is a number and a unit m, h, d or mo, e.g. 5m, 1h, 1d, 1mo')
  .transform((s) => (s.endsWith('mo') ? Number(s.slice(0, -2)) * MONTH_MS : Number(s.slice(0, -1)) * UNIT_MS[s.at(-1) as keyof typeof UNIT_MS]))
  .refine((ms) => ms >= UNIT_MS.m && ms <= 12 * MONTH_MS, 'every must be between 1m and 366d, or 1mo to 12mo');

/** The number of calendar months an `every` stands for, or undefined when it is a plain duration. */
export function calendarMonths(everyMs: number): number | undefined {
  return everyMs % MONTH_MS === 0 && everyMs % UNIT_MS.d !== 0 ? everyMs / MONTH_MS : undefined;
}

/** Where a series comes from: raw readings, or the hourly / daily rollups (README › Rollups). */
export const SeriesSourceSchema = z.enum(['raw', 'hourly', 'daily']);
export type SeriesSource = z.infer<typeof SeriesSourceSchema>;

/** ISO 8601 with offset, or epoch milliseconds; parsed to epoch ms. */
export const TimeSchema = z
  .union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,15}$/, 'ISO 8601 time or epoch ms')])
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)))
  .meta({ description: 'ISO 8601 time with offset, or epoch milliseconds' });

export const ErrorSchema = z
  .object({ error: z.string().meta({ description: 'stable code from api/errors.ts' }), message: z.string() })
  .meta({ id: 'Error' });

export const StationIdParamsSchema = z.object({ id: z.string().min(1).max(64) });
export const KindParamsSchema = z.object({ kind: KindSchema });

// ── stations ────────────────────────────────────────────────────────────────
const Paging = {
  /** Page size; the default covers the whole registry. */
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
};

export const StationsQuerySchema = z.object({
  kind: KindSchema.optional(),
  ward: z.string().min(1).max(100).optional(),
  /** The former district (abolished 1 July 2025), matched against `formerDistrict`. */
  district: z.string().min(1).max(100).optional(),
  ...Paging,
});
export type StationsQuery = z.output<typeof StationsQuerySchema>;

export const StationsResponseSchema = z
  .object({
    version: z.number().int(),
    total: z.number().int().meta({ description: 'stations matching the filters, all pages' }),
    limit: z.number().int(),
    offset: z.number().int(),
    nextOffset: z.number().int().nullable().meta({ description: 'offset of the next page, null on the last' }),
    stations: z.array(StationSchema),
  })
  .meta({ id: 'Stations' });

const PointSchema = z.object({ type: z.literal('Point'), coordinates: z.tuple([z.number(), z.number()]).meta({ description: '[lon, lat]' }) });

export const StationsGeoJsonSchema = z
  .object({
    type: z.literal('FeatureCollection'),
    features: z.array(z.object({ type: z.literal('Feature'), id: z.string(), geometry: PointSchema, properties: StationSchema })),
  })
  .meta({ id: 'StationsGeoJson' });

export const LatestSchema = z.object({
  ts: z.string(),
  values: z.record(z.string(), z.number()),
  quality: z.record(z.string(), ParameterQualitySchema).optional(),
  status: z.enum(STATION_STATUSES).optional(),
  excluded: z.array(z.string()).optional().meta({ description: 'parameters an officer marked invalid at this time: shown, but left out of AQI and aggregates' }),
});
export type Latest = z.infer<typeof LatestSchema>;

export const StationLatestResponseSchema = z.object({ station: z.string(), kind: KindSchema, latest: LiveReadingSchema.nullable() });

export const ReadingsQuerySchema = z.object({ from: TimeSchema.optional(), to: TimeSchema.optional(), every: EverySchema.optional(), source: SeriesSourceSchema.optional() });

const StatSchema = z.object({ mean: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable(), count: z.number().int() });
export const ReadingsResponseSchema = z
  .object({
    station: z.string(),
    kind: KindSchema,
    from: z.string(),
    to: z.string(),
    everyMs: z.number().int().meta({ description: 'bucket length; for calendar months (every=Nmo) N × 30.4375 days' }),
    source: SeriesSourceSchema.meta({ description: 'raw readings, or the hourly/daily rollups (which leave out invalid and calibrating values)' }),
    buckets: z.array(z.object({ ts: z.string(), values: z.record(z.string(), StatSchema) })),
  })
  .meta({ id: 'Readings' });

// ── AQI ─────────────────────────────────────────────────────────────────────
export const ScaleSchema = z.enum(['vn', 'us']).default('vn');
export const AQI_SCALES = { vn: 'VN_AQI', us: 'US_AQI' } as const;

export const AqiSchema = z
  .object({
    scale: z.enum(['VN_AQI', 'US_AQI']),
    value: z.number().int(),
    category: z.string().meta({ description: 'VN_AQI: good…hazardous (Decision 1459); US_AQI: EPA category' }),
    colour: z.string().meta({ description: 'band colour, #rrggbb' }),
    dominant: z.string().meta({ description: 'pollutant giving the index' }),
    table: z
      .enum(['VN_AQI_1459_2019', 'US_EPA_2012', 'US_EPA_2024'])
      .optional()
      .meta({ description: 'breakpoint table used: Decision 1459/QĐ-TCMT, or the US EPA table in force at the reading (2012 before 6 May 2024, 2024 from then)' }),
    subIndices: z
      .record(z.string(), z.number())
      .optional()
      .meta({ description: 'index of each pollutant that could be computed, to 0.1 (Decision 1459 Table 3: all parameters, the dominant one marked)' }),
  })
  .meta({ id: 'Aqi' });
export type Aqi = z.infer<typeof AqiSchema>;

export const StationAqiQuerySchema = z.object({
  period: z.enum(['hourly', 'daily']).default('hourly'),
  source: z.enum(['raw', 'rollups']).optional(),
  from: TimeSchema.optional(),
  to: TimeSchema.optional(),
  scale: ScaleSchema,
});

export const StationAqiResponseSchema = z
  .object({
    station: z.string(),
    scale: z.enum(['VN_AQI', 'US_AQI']),
    period: z.enum(['hourly', 'daily']),
    from: z.string(),
    to: z.string(),
    source: z.enum(['raw', 'rollups']).meta({ description: 'computed from raw readings, or read from the aqi_1h / aqi_1d rollups' }),
    points: z.array(z.object({ ts: z.string().meta({ description: 'start of the hour/day (UTC+7 days)' }), aqi: AqiSchema.nullable() })),
  })
  .meta({ id: 'StationAqi' });

export const AqiAreasQuerySchema = z.object({ by: z.enum(['district', 'ward']).default('district'), period: z.literal('hourly').default('hourly'), scale: ScaleSchema });

export const AqiAreasResponseSchema = z
  .object({
    by: z.enum(['district', 'ward']),
    period: z.literal('hourly'),
    scale: z.enum(['VN_AQI', 'US_AQI']),
    aggregation: z.literal('max').meta({ description: 'area AQI = the highest station AQI in the area (worst case shown)' }),
    areas: z.array(z.object({ area: z.string(), aqi: AqiSchema.nullable(), stations: z.number().int(), stationsWithAqi: z.number().int(), worstStation: z.string().nullable() })),
  })
  .meta({ id: 'AqiAreas' });

// ── snapshot ────────────────────────────────────────────────────────────────
export const SnapshotQuerySchema = z.object({ scale: ScaleSchema });

export const FloodStatusSchema = z
  .object({
    levelM: z.number(),
    state: z.enum(['normal', 'I', 'II', 'III']),
    trendCmPerH: z.number().nullable().meta({ description: 'least-squares slope over the last hour' }),
    nextLevel: z.enum(['I', 'II', 'III']).nullable(),
    etaMinutes: z.number().int().nullable().meta({ description: 'minutes to the next level at the current trend, null when not rising' }),
  })
  .meta({ id: 'FloodStatus' });
export type FloodStatus = z.infer<typeof FloodStatusSchema>;

export const SnapshotPropertiesSchema = z.looseObject({
  id: z.string(),
  kind: KindSchema,
  latest: LatestSchema.nullable(),
  ageS: z.number().int().nullable(),
  stale: z.boolean().meta({ description: 'no reading for more than 3 × intervalS' }),
  aqi: AqiSchema.nullable().optional(),
  flood: FloodStatusSchema.nullable().optional(),
  rainMm1h: z.number().nullable().optional(),
  rainMm24h: z.number().nullable().optional(),
  depthCm: z.number().nullable().optional(),
});
export type SnapshotProperties = z.infer<typeof SnapshotPropertiesSchema>;

export const SnapshotSchema = z
  .object({
    type: z.literal('FeatureCollection'),
    kind: KindSchema,
    generatedAt: z.string(),
    features: z.array(z.object({ type: z.literal('Feature'), id: z.string(), geometry: PointSchema, properties: SnapshotPropertiesSchema })),
  })
  .meta({ id: 'Snapshot', description: 'station fields plus the computed properties, one feature per station' });

// ── alerts, export, auth ────────────────────────────────────────────────────
/** An alert as the public sees it: no acknowledgement details (officer notes stay internal). */
export const PublicAlertSchema = AlertSchema.omit({ acknowledged: true }).meta({ id: 'PublicAlert' });
export const PublicAlertsResponseSchema = z.object({ alerts: z.array(PublicAlertSchema), generatedAt: z.string() });

export const ExportQuerySchema = z.object({ station: z.string().min(1).max(64), from: TimeSchema.optional(), to: TimeSchema.optional(), source: SeriesSourceSchema.optional() });

export const LoginRequestSchema = z.object({ user: z.string().min(1).max(64), password: z.string().min(1).max(1024) }).meta({ id: 'LoginRequest' });
export const LoginResponseSchema = z
  .object({ token: z.string(), tokenType: z.literal('Bearer'), user: z.string(), role: z.enum(['officer', 'operator']), expiresAt: z.string() })
  .meta({ id: 'LoginResponse' });
export const MeResponseSchema = z.object({ user: z.string(), role: z.enum(['officer', 'operator']), expiresAt: z.string() });

// ── /ws/live messages ───────────────────────────────────────────────────────
const idList = z.array(z.string().min(1).max(100)).max(1000);
const SubscriptionFields = { kinds: z.array(KindSchema).max(4).optional(), stations: idList.optional(), wards: idList.optional(), districts: idList.optional() };

/**
 * Client → server. A client that never subscribes receives every reading. The first `subscribe`
 * narrows the stream to readings matching any listed kind, station, ward or district; later ones
 * add to it; `unsubscribe` removes entries (removing all returns to "nothing", not "everything").
 */
export const WsClientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), ...SubscriptionFields }),
  z.object({ type: z.literal('unsubscribe'), ...SubscriptionFields }),
]);
export type WsClientMessage = z.infer<typeof WsClientMessageSchema>;

export const WsSubscribedSchema = z.object({
  type: z.literal('subscribed'),
  kinds: z.array(KindSchema),
  stations: z.array(z.string()),
  wards: z.array(z.string()),
  districts: z.array(z.string()),
});
export const WsErrorSchema = z.object({ type: z.literal('error'), error: z.string(), message: z.string() });
/** Server → client. */
export const WsServerMessageSchema = z.discriminatedUnion('type', [LiveReadingSchema, WsSubscribedSchema, WsErrorSchema]);
export type WsServerMessage = z.infer<typeof WsServerMessageSchema>;

// ── Manual validation (contracts/validations.ts folds the marks) ─────────────────────────────
export const VALIDATION_STATUSES = ['invalid', 'valid'] as const;
export type ValidationStatus = (typeof VALIDATION_STATUSES)[number];

export const ValidationMarkSchema = z
  .object({
    id: z.string().meta({ description: 'stable id of the mark' }),
    station: z.string(),
    parameter: z.string(),
    from: z.string().meta({ description: 'start of the range (inclusive), ISO 8601 UTC' }),
    to: z.string().meta({ description: 'end of the range (exclusive), ISO 8601 UTC' }),
    status: z.enum(VALIDATION_STATUSES),
    reason: z.string(),
    by: z.string().meta({ description: 'the officer or operator (from the token)' }),
    at: z.string().meta({ description: 'when the mark was made' }),
    revokedAt: z.string().optional().meta({ description: 'set when the mark was undone' }),
    revokedBy: z.string().optional(),
    revokeReason: z.string().optional(),
  })
  .meta({ id: 'ValidationMark' });
export type ValidationMark = z.infer<typeof ValidationMarkSchema>;

export const ValidationCreateSchema = z
  .object({
    parameter: z.string().min(1),
    from: TimeSchema,
    to: TimeSchema,
    status: z.enum(VALIDATION_STATUSES).default('invalid'),
    reason: z.string().trim().min(3).max(500),
  })
  .meta({ id: 'ValidationCreate' });

export const ValidationRevokeSchema = z.object({ reason: z.string().trim().max(500).optional() }).meta({ id: 'ValidationRevoke' });

export const ValidationListQuerySchema = z.object({
  parameter: z.string().optional(),
  from: TimeSchema.optional(),
  to: TimeSchema.optional(),
  includeRevoked: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const ValidationListSchema = z
  .object({
    station: z.string(),
    /** Effective invalid ranges per parameter after every active mark is applied in order. */
    invalid: z.record(z.string(), z.array(z.object({ from: z.string(), to: z.string() }))),
    marks: z.array(ValidationMarkSchema),
  })
  .meta({ id: 'ValidationList' });
