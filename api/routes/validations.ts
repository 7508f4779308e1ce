// Manual validation routes: officers and operators mark a time range of one parameter at a station
// invalid (or valid again) with a reason, list the marks, and undo one. Every change is audited and
// takes effect on the next read: AQI, series and rollups leave excluded values out, exports mark them.
import type { FastifyInstance } from 'fastify';
import { DAY_MS, StationIdParamsSchema, ValidationCreateSchema, ValidationListQuerySchema, ValidationRevokeSchema } from '../../contracts/api.ts';
import { PARAMETERS } from '../../contracts/parameters.ts';
import type { Registry } from '../../contracts/stations.ts';
import { exclusionsFor } from '../../contracts/validations.ts';
import type { AuditEvent } from '../../server/audit-log.ts';
import type { Auth } from '../auth.ts';
import { ApiError } from '../errors.ts';
import type { ValidationStore } from '../validation-store.ts';
import { parseOr400 } from '../validate.ts';
import { z } from 'zod';

export interface ValidationRoutesDeps {
  readonly registry: Registry;
  readonly auth: Auth;
  readonly store: ValidationStore;
  /** Appends to the audit trail (server/audit-log.ts); failures are the caller's to log. */
  readonly audit: (event: AuditEvent) => void;
  /** Told the station and range a change affects (rollups recompute those hours). */
  readonly onChange?: (change: { station: string; fromMs: number; toMs: number }) => void;
}

/** Longest range one mark may cover. */
export const MAX_MARK_RANGE_MS = 366 * DAY_MS;

const MarkIdParamsSchema = StationIdParamsSchema.extend({ markId: z.string().min(1).max(100) });

export async function validationRoutes(app: FastifyInstance, deps: ValidationRoutesDeps): Promise<void> {
  const staff = { preHandler: deps.auth.requireRole('officer', 'operator') };
  // A marks file damaged while running stays on its last good version; writing now would replace
  // what an operator is repairing. The reason (a path) is for operators: /readyz, the log.
  const refuseWhileUnusable = () => {
    if (deps.store.problem()) throw new ApiError('MARKS_READ_ONLY');
  };
  const stationOr404 = (params: unknown) => {
    const { id } = parseOr400(StationIdParamsSchema, params);
    const s = deps.registry.get(id);
    if (!s) throw new ApiError('STATION_NOT_FOUND', `no station ${id}`);
    return s;
  };

  app.get('/api/stations/:id/validations', staff, async (req) => {
    const station = stationOr404(req.params);
    const q = parseOr400(ValidationListQuerySchema, req.query);
    const marks = deps.store
      .marks()
      .filter((m) => m.station === station.id && (q.includeRevoked || m.revokedAt === undefined))
      .filter((m) => (q.parameter === undefined || m.parameter === q.parameter) && (q.to === undefined || Date.parse(m.from) < q.to) && (q.from === undefined || Date.parse(m.to) > q.from));
    const invalid = Object.fromEntries(
      [...exclusionsFor(deps.store.index(), station.id, q.from, q.to)]
        .filter(([p]) => q.parameter === undefined || p === q.parameter)
        .map(([p, list]) => [p, list.map(([a, b]) => ({ from: new Date(a).toISOString(), to: new Date(b).toISOString() }))]),
    );
    return { station: station.id, invalid, marks };
  });

  app.post('/api/stations/:id/validations', staff, async (req, reply) => {
    const station = stationOr404(req.params);
    const body = parseOr400(ValidationCreateSchema, req.body, 'BAD_BODY');
    if (!Object.hasOwn(PARAMETERS[station.kind], body.parameter)) throw new ApiError('BAD_BODY', `${station.kind} stations have no parameter ${body.parameter}`);
    if (!(body.from < body.to)) throw new ApiError('BAD_BODY', '"from" must be before "to"');
    if (body.to - body.from > MAX_MARK_RANGE_MS) throw new ApiError('RANGE_TOO_LARGE', 'one mark covers at most 366 days');
    const by = req.principal!.user;
    refuseWhileUnusable();
    const mark = await deps.store.add({ station: station.id, parameter: body.parameter, fromMs: body.from, toMs: body.to, status: body.status, reason: body.reason, by });
    deps.audit({ actor: by, action: `validation.${body.status === 'invalid' ? 'invalidate' : 'validate'}`, subject: `${station.id}/${body.parameter}`, detail: { id: mark.id, from: mark.from, to: mark.to, reason: mark.reason } });
    deps.onChange?.({ station: station.id, fromMs: body.from, toMs: body.to });
    return reply.status(201).send(mark);
  });

  app.delete('/api/stations/:id/validations/:markId', staff, async (req) => {
    const station = stationOr404(req.params);
    const { markId } = parseOr400(MarkIdParamsSchema, req.params);
    const body = parseOr400(ValidationRevokeSchema, req.body ?? {}, 'BAD_BODY');
    const by = req.principal!.user;
    refuseWhileUnusable();
    const mark = deps.store.marks().find((m) => m.id === markId && m.station === station.id);
    const done = mark ? await deps.store.revoke(markId, by, body.reason) : undefined;
    if (!done) throw new ApiError('NOT_FOUND', `no active mark ${markId} at ${station.id}`);
    deps.audit({ actor: by, action: 'validation.revoke', subject: `${station.id}/${done.parameter}`, detail: { id: done.id, from: done.from, to: done.to, ...(body.reason ? { reason: body.reason } : {}) } });
    deps.onChange?.({ station: station.id, fromMs: Date.parse(done.from), toMs: Date.parse(done.to) });
    return done;
  });
}
