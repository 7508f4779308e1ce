// Alert routes: officers list, read and acknowledge alerts and follow them on /ws/officer;
// operators see each alert's webhook deliveries and backtest rules on stored readings. The public
// view (GET /api/alerts/public) is registered here only when no other plugin has registered it.
import type { FastifyInstance } from 'fastify';
import type { Alert, AlertEvent, AlertFilter } from '../../contracts/alerts.ts';
import { severityRank } from '../../contracts/alerts.ts';
import {
  AckBodySchema, AlertIdParamsSchema, AlertsQuerySchema, BacktestBodySchema,
  type AlertsQuery, type DeliveryRecord, WS_CLOSE,
} from '../../contracts/alerts-api.ts';
import type { AlertHub } from '../alert-hub.ts';
import { hasUrlToken, type Auth } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { parseOr400 } from '../validate.ts';

/** What the alert routes need from the running server (server/create-quantrac.ts provides it). */
export interface AlertApi {
  list(filter?: AlertFilter): Alert[];
  get(id: string): Alert | undefined;
  /** undefined when there is no such alert. */
  /** Resolves once the acknowledgement is durable and applied; undefined for an unknown alert. */
  acknowledge(id: string, ack: { by: string; note?: string }): Promise<AlertEvent | undefined> | AlertEvent | undefined;
  deliveries(alertId: string): DeliveryRecord[];
  /** Replays stored readings; throws ApiError for a bad request (e.g. an invalid rules file). */
  backtest(req: { fromMs: number; toMs: number; stationIds?: string[] | undefined; rules?: unknown; by?: string }): Promise<unknown>;
  readonly hub: AlertHub;
}

export interface AlertRoutesDeps {
  readonly alerts: AlertApi;
  readonly auth: Auth;
  /** Longest backtest window, ms. */
  readonly maxBacktestMs: number;
}

export function filterAlerts(all: readonly Alert[], q: AlertsQuery): Alert[] {
  const min = q.minSeverity === undefined ? -1 : severityRank(q.minSeverity);
  return all.filter(
    (a) =>
      (q.state === undefined || a.state === q.state) &&
      (q.severity === undefined || q.severity.includes(a.level.severity)) &&
      severityRank(a.level.severity) >= min &&
      (q.kind === undefined || a.kind === q.kind) &&
      (q.station === undefined || a.stationId === q.station) &&
      (q.rule === undefined || a.ruleId === q.rule) &&
      (q.acknowledged === undefined || (a.acknowledged !== null) === q.acknowledged) &&
      (q.to === undefined || a.openedAt <= q.to) &&
      (q.from === undefined || a.clearedAt === null || a.clearedAt >= q.from),
  );
}

export async function alertRoutes(app: FastifyInstance, deps: AlertRoutesDeps): Promise<void> {
  const { alerts, auth } = deps;
  const officer = { preHandler: auth.requireRole('officer') };
  const staff = { preHandler: auth.requireRole('officer', 'operator') };
  const operator = { preHandler: auth.requireRole('operator') };

  app.get('/api/alerts', officer, async (req, reply) => {
    const q = parseOr400(AlertsQuerySchema, req.query);
    if (q.from !== undefined && q.to !== undefined && q.to < q.from) throw new ApiError('BAD_QUERY', 'to is before from');
    const matched = filterAlerts(alerts.list(), q);
    const page = matched.slice(q.offset, q.offset + q.limit);
    void reply.header('cache-control', 'no-store');
    return { total: matched.length, limit: q.limit, offset: q.offset, nextOffset: q.offset + page.length < matched.length ? q.offset + page.length : null, alerts: page };
  });

  app.get('/api/alerts/:id', officer, async (req, reply) => {
    const { id } = parseOr400(AlertIdParamsSchema, req.params);
    const alert = alerts.get(id);
    if (!alert) throw new ApiError('NOT_FOUND', `no alert ${id}`);
    void reply.header('cache-control', 'no-store');
    return alert;
  });

  app.post('/api/alerts/:id/ack', officer, async (req) => {
    const { id } = parseOr400(AlertIdParamsSchema, req.params);
    const body = parseOr400(AckBodySchema, req.body, 'BAD_BODY');
    const event = await alerts.acknowledge(id, { by: req.principal!.user, ...(body.note ? { note: body.note } : {}) });
    if (!event) throw new ApiError('NOT_FOUND', `no alert ${id}`);
    return event.alert;
  });

  app.get('/api/alerts/:id/deliveries', staff, async (req) => {
    const { id } = parseOr400(AlertIdParamsSchema, req.params);
    return { alertId: id, deliveries: alerts.deliveries(id) };
  });

  app.post('/api/alerts/backtest', operator, async (req) => {
    const body = parseOr400(BacktestBodySchema, req.body, 'BAD_BODY');
    if (!(body.to > body.from)) throw new ApiError('BAD_BODY', 'to must be after from');
    if (body.to - body.from > deps.maxBacktestMs) throw new ApiError('RANGE_TOO_LARGE', `a backtest spans at most ${deps.maxBacktestMs / 86_400_000} days`);
    return alerts.backtest({ fromMs: body.from, toMs: body.to, stationIds: body.stations, rules: body.rules, by: req.principal!.user });
  });

  app.get('/ws/officer', { websocket: true }, (socket, req) => {
    if (hasUrlToken(req)) return socket.close(WS_CLOSE.unauthorized, 'tokens in URLs are refused; use the subprotocol or a first auth message');
    alerts.hub.add(socket, alerts.hub.tokenOf(req));
  });

  if (!app.hasRoute({ method: 'GET', url: '/api/alerts/public' })) {
    app.get('/api/alerts/public', async (_req, reply) => {
      void reply.header('cache-control', 'public, max-age=5');
      const active = alerts.list({ state: 'active' });
      return { alerts: active.map(({ acknowledged: _ack, ...rest }) => rest), generatedAt: new Date().toISOString() };
    });
  }
}
