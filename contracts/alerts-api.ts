// Wire contract of the alert API: REST query/body schemas and the /ws/officer messages
// (api/routes/alerts.ts and api/alert-hub.ts validate with them; ingest/alerts/README.md documents them).
import { z } from 'zod';
import { AlertEventSchema, AlertSchema, SEVERITIES } from './alerts.ts';
import { STATION_KINDS } from './parameters.ts';

/** ISO 8601 with offset, or epoch milliseconds; parsed to epoch ms. */
const Time = z
  .union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,15}$/, 'ISO 8601 time or epoch ms')])
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));

export const AlertsQuerySchema = z.object({
  state: z.enum(['active', 'cleared']).optional(),
  /** One severity or a comma list (`severe,extreme`). */
  severity: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
    .pipe(z.array(z.enum(SEVERITIES)).min(1))
    .optional(),
  /** At least this severity. */
  minSeverity: z.enum(SEVERITIES).optional(),
  kind: z.enum(STATION_KINDS).optional(),
  station: z.string().min(1).max(64).optional(),
  rule: z.string().min(1).max(100).optional(),
  acknowledged: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  /** Alerts active at some time in [from, to]: opened before `to`, not cleared before `from`. */
  from: Time.optional(),
  to: Time.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type AlertsQuery = z.output<typeof AlertsQuerySchema>;

export const AlertsResponseSchema = z.object({
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  nextOffset: z.number().int().nullable(),
  alerts: z.array(AlertSchema),
});

export const AlertIdParamsSchema = z.object({ id: z.string().min(1).max(300) });
export const AckBodySchema = z.object({ note: z.string().max(2000).optional() }).default({});

export const BacktestBodySchema = z.object({
  from: Time,
  to: Time,
  stations: z.array(z.string().min(1).max(64)).max(5000).optional(),
  /** A rules file (same shape as rules.default.json) to try instead of the running rules. */
  rules: z.unknown().optional(),
});

// ── webhook deliveries ──────────────────────────────────────────────────────
export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed' | 'dropped';

/** One webhook delivery of one alert event to one URL (GET /api/alerts/:id/deliveries). */
export interface DeliveryRecord {
  /** Stable across retries (the `X-Quantrac-Delivery` header): receivers dedupe on it. */
  readonly deliveryId: string;
  readonly alertId: string;
  readonly eventType: string;
  /** The event's own time, epoch ms. */
  readonly eventAt: number;
  readonly url: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** HTTP status of the last attempt, when one was answered. */
  readonly lastStatusCode?: number | undefined;
  readonly lastError?: string | undefined;
  /** When the next attempt is due (status retrying), epoch ms. */
  readonly nextAttemptAt?: number | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** The exact JSON body, kept in the log until the delivery is final so a restart can resume it. */
  readonly body?: string | undefined;
}

// ── /ws/officer ─────────────────────────────────────────────────────────────
/** Sent first, after authentication: the active alerts now. */
export const OfficerSnapshotMessageSchema = z.object({ type: z.literal('snapshot'), user: z.string(), at: z.number().int(), alerts: z.array(AlertSchema) });
/** One alert change (opened, escalated, updated, acknowledged, cleared), in the order they happened. */
export const OfficerEventMessageSchema = z.object({ type: z.literal('event'), event: AlertEventSchema });
export const OfficerMessageSchema = z.discriminatedUnion('type', [OfficerSnapshotMessageSchema, OfficerEventMessageSchema]);
export type OfficerMessage = z.infer<typeof OfficerMessageSchema>;
/** Client → server, only when the token was not given on the upgrade request. */
export const OfficerAuthMessageSchema = z.object({ type: z.literal('auth'), token: z.string().min(1).max(4096) });

/** Subprotocol a browser offers first (the server echoes it); the token goes in `bearer.{token}`. */
export const OFFICER_WS_PROTOCOL = 'quantrac.alerts.v1';
export const BEARER_PROTOCOL_PREFIX = 'bearer.';
/** Close codes (RFC 6455 §7.4.2 private range): no or bad token, wrong role, no auth in time. */
export const WS_CLOSE = { unauthorized: 4401, forbidden: 4403, authTimeout: 4408 } as const;
