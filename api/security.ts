// Internet-facing protections of the API: security headers with a Content-Security-Policy that
// still lets the portal run (its own scripts, inline scripts by hash, map tiles from the
// configured tile server, WebSockets to itself), CORS for configured origins, and a per-address
// rate limit on everything but health and metrics probes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';

export interface SecurityOptions {
  readonly rateLimitPerMin: number;
  /** Allowed CORS origins; `['*']` for any; empty for same-origin only. */
  readonly corsOrigins: readonly string[];
  /** Tile URL template or origin, e.g. `https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png`. */
  readonly tileUrl: string;
  /** Served over HTTPS: browsers are told to upgrade insecure requests. */
  readonly tls: boolean;
  readonly portalDir: string;
}

const UNLIMITED = /^\/(healthz|readyz|metrics)(\?|$)/;

/** `https://{s}.tile.example.org/{z}/…` → `https://*.tile.example.org` (a CSP source). */
export function tileSource(tileUrl: string): string {
  const m = /^(https?:\/\/[^/]+)/.exec(tileUrl);
  return (m?.[1] ?? tileUrl).replace(/\{[a-z]\}/g, '*');
}

/** CSP hashes of the inline scripts of the portal's index.html (the unbuilt fallback page has one). */
function inlineScriptHashes(portalDir: string): string[] {
  const index = join(portalDir, 'index.html');
  if (!existsSync(index)) return [];
  const html = readFileSync(index, 'utf8');
  return [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '').digest('base64')}'`);
}

export async function registerSecurity(app: FastifyInstance, opts: SecurityOptions): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...inlineScriptHashes(opts.portalDir)],
        // Leaflet and Swagger UI position elements with inline styles.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', tileSource(opts.tileUrl)],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(opts.tls ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // Tiles come from another origin without CORP headers.
    crossOriginEmbedderPolicy: false,
    hsts: opts.tls ? { maxAge: 15_552_000 } : false,
  });

  if (opts.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: opts.corsOrigins.includes('*') ? '*' : [...opts.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'if-none-match'],
      exposedHeaders: ['etag', 'x-row-cap', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }

  await app.register(rateLimit, {
    global: true,
    max: opts.rateLimitPerMin,
    timeWindow: 60_000,
    cache: 50_000,
    keyGenerator: (req) => req.ip,
    allowList: (req) => UNLIMITED.test(req.url),
    errorResponseBuilder: (_req, ctx) => new ApiError('RATE_LIMITED', `more than ${ctx.max} requests per minute from your address; retry in ${Math.ceil(ctx.ttl / 1000)} s`),
  });
}
