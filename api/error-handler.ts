// The API's error handler: every error leaves as `{error: CODE, message}` with its real status.
// Our catalogue's errors (ApiError) and Fastify's client errors (4xx) keep theirs; InfluxDB being
// unreachable is 503 DATABASE_UNAVAILABLE (retry later); anything else is a bug: 500, logged.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseUnavailableError } from '../ingest/influx/errors.ts';
import { API_ERRORS, ApiError } from './errors.ts';

export interface ErrorAnswer {
  readonly status: number;
  readonly body: { readonly error: string; readonly message: string };
  /** How the failure is logged: client errors are not logged at all. */
  readonly log?: 'warn' | 'error';
}

/** Pure mapping of a thrown error onto the answer (tested on its own). */
export function answerFor(err: unknown): ErrorAnswer {
  if (err instanceof ApiError) return { status: err.status, body: { error: err.code, message: err.message } };
  if (err instanceof DatabaseUnavailableError) {
    return { status: 503, body: { error: 'DATABASE_UNAVAILABLE', message: API_ERRORS.DATABASE_UNAVAILABLE.message }, log: 'warn' };
  }
  const status = (err as Partial<FastifyError> | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST', message: (err as Error).message } };
  }
  return { status: 500, body: { error: 'INTERNAL_ERROR', message: API_ERRORS.INTERNAL_ERROR.message }, log: 'error' };
}

export function onApiError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = answerFor(err);
  if (answer.log === 'error') req.log.error({ err, url: req.url, method: req.method }, 'request failed: a bug');
  else if (answer.log === 'warn') req.log.warn({ err: (err as Error).message, url: req.url }, 'InfluxDB unavailable for a request');
  if (answer.status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.status(answer.status).send(answer.body);
}
