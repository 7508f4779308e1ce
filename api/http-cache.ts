// Conditional responses for cached bodies: ETag, Cache-Control and 304 on a matching If-None-Match
// (RFC 9110 §13.1.2, RFC 9111 §5.2.2).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CachedBody } from './cache.ts';

export function sendCached(req: FastifyRequest, reply: FastifyReply, entry: CachedBody, maxAgeS: number): FastifyReply {
  void reply.header('etag', entry.etag).header('cache-control', `public, max-age=${maxAgeS}`).header('last-modified', new Date(entry.computedAt).toUTCString());
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === entry.etag || t.trim() === '*')) return reply.status(304).send();
  return reply.type('application/json; charset=utf-8').send(entry.body);
}
