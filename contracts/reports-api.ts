// The reports' wire contract (GET /api/reports/{station|ward|city}): query and JSON response, per
// station kind. api/reports/ computes them; api/openapi.ts documents them; the portal prints them.
import { z } from 'zod';

/** A month `2026-11` or a year `2026`, in Hanoi time (UTC+7). */
export const ReportPeriodSchema = z
  .string()
  .regex(/^\d{4}(-(0[1-9]|1[0-2]))?$/, 'period is a month YYYY-MM or a year YYYY')
  .meta({ description: 'a month (YYYY-MM) or a year (YYYY), Hanoi time', example: '2026-11' });

export const ReportQuerySchema = z.object({
  period: ReportPeriodSchema,
  format: z.enum(['json', 'csv']).default('json'),
  /** Station id (scope=station), ward name (scope=ward); none for the city. */
  id: z.string().min(1).max(100).optional().meta({ description: 'station id (station reports) or ward name (ward reports)' }),
});
export type ReportQuery = z.output<typeof ReportQuerySchema>;
export const ReportScopeParamsSchema = z.object({ scope: z.enum(['station', 'ward', 'city']) });

const Nullable = <T extends z.ZodType>(t: T) => t.nullable();
const At = z.string().meta({ description: 'ISO 8601 time (UTC)' });

export const CompletenessSchema = z
  .object({
    param: z.string(),
    hours: z.number().int().meta({ description: 'clock hours of the period up to now' }),
    validHours: z.number().int().meta({ description: 'hours whose mean rests on ≥ 75 % of the readings the station promises' }),
    validHourPct: z.number(),
    days: z.number().int(),
    validDays: z.number().int().meta({ description: 'Hanoi days with ≥ 18 valid hours' }),
    validDayPct: z.number(),
  })
  .meta({ id: 'ReportCompleteness' });
export type Completeness = z.infer<typeof CompletenessSchema>;

export const AQI_DAY_CATEGORIES = ['good', 'moderate', 'poor', 'bad', 'very_bad', 'hazardous', 'insufficient'] as const;

export const ExceedanceSchema = z
  .object({
    param: z.string(),
    window: z.enum(['1h', '8h', '24h']),
    limitUgM3: z.number(),
    unit: z.enum(['hours', 'days']).meta({ description: '1 h: hours above the limit; 8 h: days whose highest 8-hour mean is above; 24 h: days whose mean is above' }),
    count: z.number().int(),
    evaluated: z.number().int().meta({ description: 'valid hours or days judged' }),
  })
  .meta({ id: 'ReportExceedance' });
export type Exceedance = z.infer<typeof ExceedanceSchema>;

export const AnnualMeanSchema = z
  .object({
    param: z.string(),
    meanUgM3: Nullable(z.number()),
    annualLimitUgM3: z.number(),
    exceeds: Nullable(z.boolean()),
    complete: z.boolean().meta({ description: 'valid hours ≥ 90 % of the period (for a month, the mean is only indicative against the annual limit)' }),
  })
  .meta({ id: 'ReportAnnualMean' });

export const AirReportSchema = z
  .object({
    daysByCategory: z.record(z.enum(AQI_DAY_CATEGORIES), z.number().int()).meta({ description: 'Hanoi days per daily VN_AQI category; insufficient = no PM2.5/PM10 day with ≥ 18 valid hours' }),
    exceedances: z.array(ExceedanceSchema),
    annualMeans: z.array(AnnualMeanSchema),
    completeness: z.array(CompletenessSchema),
  })
  .meta({ id: 'AirReport' });
export type AirReport = z.infer<typeof AirReportSchema>;

export const WaterMonthSchema = z.object({
  month: z.string(),
  meansMgL: z.record(z.string(), Nullable(z.number())).meta({ description: 'monthly mean of valid hourly means (pH unitless)' }),
  waterClass: Nullable(z.enum(['A', 'B', 'C', 'D'])).meta({ description: 'best QCVN 08:2023 class whose limits all monthly means meet; null without data' }),
  limiting: z.array(z.string()).meta({ description: 'parameters that keep the water out of the next better class' }),
  meetsDesignated: Nullable(z.boolean()),
  nh4AboveHealthLimit: Nullable(z.boolean()),
});
export const WaterReportSchema = z
  .object({ designatedClass: z.enum(['A', 'B', 'C', 'D']), months: z.array(WaterMonthSchema), completeness: z.array(CompletenessSchema) })
  .meta({ id: 'WaterReport' });
export type WaterReport = z.infer<typeof WaterReportSchema>;

const RainPeakSchema = z.object({ mm: z.number(), at: At.meta({ description: 'start of the hour (1 h) or of the 24 hours (24 h)' }) });
export const RainMonthSchema = z.object({ month: z.string(), totalMm: z.number(), max1h: Nullable(RainPeakSchema), max24h: Nullable(RainPeakSchema), wetDays: z.number().int() });
export const RainReportSchema = z
  .object({ totalMm: z.number(), max1h: Nullable(RainPeakSchema), max24h: Nullable(RainPeakSchema), months: z.array(RainMonthSchema), completeness: z.array(CompletenessSchema) })
  .meta({ id: 'RainReport' });
export type RainReport = z.infer<typeof RainReportSchema>;

export const FloodReportSchema = z
  .object({
    floodType: z.enum(['river', 'street']),
    thresholds: z.record(z.string(), z.number()).meta({ description: 'river: levels I/II/III (m, Decision 05/2020); street: display bands (cm)' }),
    hoursAbove: z.record(z.string(), z.number()).meta({ description: 'hours at or above each threshold' }),
    peak: Nullable(z.object({ value: z.number(), unit: z.enum(['m', 'cm']), at: At, level: Nullable(z.string()) })),
    completeness: z.array(CompletenessSchema),
  })
  .meta({ id: 'FloodReport' });
export type FloodReport = z.infer<typeof FloodReportSchema>;

export const StationReportSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['air', 'water', 'rain', 'flood']),
    ward: z.string(),
    source: z.enum(['rollups', 'raw', 'none']).meta({ description: 'where the hourly data came from' }),
    air: AirReportSchema.optional(),
    water: WaterReportSchema.optional(),
    rain: RainReportSchema.optional(),
    flood: FloodReportSchema.optional(),
  })
  .meta({ id: 'StationReport' });
export type StationReport = z.infer<typeof StationReportSchema>;

export const ReportSchema = z
  .object({
    scope: z.object({ type: z.enum(['station', 'ward', 'city']), id: z.string(), name: z.string() }),
    period: z.object({ label: z.string(), kind: z.enum(['month', 'year']), from: At, to: At, until: At.meta({ description: 'data considered up to (now, for a period not yet over)' }) }),
    generatedAt: At,
    rules: z.object({ validHourCoverage: z.number(), validDayHours: z.number().int(), annualMeanHourShare: z.number(), document: z.string() }),
    summary: z
      .object({
        stations: z.number().int(),
        airDaysByCategory: z.record(z.enum(AQI_DAY_CATEGORIES), z.number().int()).meta({ description: 'per day the worst (highest) daily VN_AQI among the area’s air stations' }),
        exceedances: z.array(ExceedanceSchema.omit({ param: true }).extend({ param: z.string(), stations: z.number().int() })).meta({ description: 'station-hours / station-days summed over the area' }),
      })
      .optional(),
    stations: z.array(StationReportSchema),
  })
  .meta({ id: 'Report' });
export type Report = z.infer<typeof ReportSchema>;
