// The alert contract: an alert (a threshold breach with a lifecycle) and the events that report its
// changes, as zod schemas. The engine emits them, the store journals them, API/WebSocket serve them.
import { z } from 'zod';

/** Severity scale, least to most severe (the four levels of the Common Alerting Protocol 1.2). */
export const SEVERITIES = ['minor', 'moderate', 'severe', 'extreme'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

const Text = z.object({ vi: z.string(), en: z.string() });

/** One step of a rule's ordered levels (e.g. VN_AQI "Kém", flood "Báo động II"). */
export const AlertLevelSchema = z.object({
  /** 0 = the rule's first (mildest) level. */
  index: z.number().int().nonnegative(),
  key: z.string(),
  label: Text,
  severity: SeveritySchema,
  /** The threshold that opens this level, as shown to people (e.g. "≥ 10.5 m", "ngoài 6.0–8.5"). */
  threshold: z.string(),
});
export type AlertLevel = z.infer<typeof AlertLevelSchema>;

export const AcknowledgementSchema = z.object({
  by: z.string().min(1),
  /** Epoch ms. */
  at: z.number().int(),
  note: z.string().optional(),
});
export type Acknowledgement = z.infer<typeof AcknowledgementSchema>;

/** Time until the next flood level from a linear regression over recent readings. */
export const ForecastSchema = z.object({
  /** Rise (positive) or fall, cm per hour. */
  rateCmH: z.number(),
  /** Key of the next level above the current value, when there is one. */
  nextLevel: z.string().optional(),
  /** Epoch ms at which the next level would be reached at the current rate. */
  nextLevelAt: z.number().int().optional(),
  /** Readings and span the regression used. */
  points: z.number().int(),
  spanS: z.number(),
});
export type Forecast = z.infer<typeof ForecastSchema>;

/** All times are epoch milliseconds (UTC), like Reading.ts. */
export const AlertSchema = z.object({
  /** `{stationId}~{ruleId}~{openedAt}`: one alert per (station, rule) at a time. */
  id: z.string(),
  stationId: z.string(),
  ruleId: z.string(),
  /** Version of the rules file the alert was opened under. */
  rulesVersion: z.number().int(),
  kind: z.enum(['air', 'water', 'rain', 'flood']),
  /** What is measured (e.g. "VN_AQI giờ", "PM2.5 24 h mean"). */
  measure: Text,
  unit: z.string(),
  level: AlertLevelSchema,
  /** The highest level reached while open. */
  peakLevel: AlertLevelSchema,
  state: z.enum(['active', 'cleared']),
  acknowledged: AcknowledgementSchema.nullable(),
  openedAt: z.number().int(),
  updatedAt: z.number().int(),
  clearedAt: z.number().int().nullable(),
  /** Latest measured value. */
  value: z.number(),
  /** Worst value while open (the highest, or the lowest for a "below" limit such as DO). */
  peakValue: z.number(),
  message: Text,
  forecast: ForecastSchema.nullable(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const ALERT_EVENT_TYPES = ['opened', 'escalated', 'updated', 'acknowledged', 'cleared'] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

const base = {
  /** Epoch ms of the change (reading time, or the clock for silence and acknowledgements). */
  at: z.number().int(),
  /** The alert after the change. */
  alert: AlertSchema,
};

export const AlertEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('opened'), ...base }),
  z.object({ type: z.literal('escalated'), ...base, from: AlertLevelSchema }),
  /** Value change (throttled) or a de-escalation (`from` is then the previous level). */
  z.object({ type: z.literal('updated'), ...base, reason: z.enum(['value', 'deescalated']), from: AlertLevelSchema.optional() }),
  z.object({ type: z.literal('acknowledged'), ...base }),
  z.object({ type: z.literal('cleared'), ...base }),
]);
export type AlertEvent = z.infer<typeof AlertEventSchema>;

/** Filter of list(): every given field must match. */
export interface AlertFilter {
  readonly state?: 'active' | 'cleared';
  readonly stationId?: string;
  readonly ruleId?: string;
  readonly kind?: 'air' | 'water' | 'rain' | 'flood';
  readonly minSeverity?: Severity;
  readonly acknowledged?: boolean;
}
