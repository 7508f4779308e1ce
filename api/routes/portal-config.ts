// GET /api/portal-config: what the citizen portal needs to know about its deployment, today the
// base-map tile URL template. API_TILE_URL is one setting for both the page and the CSP
// (api/security.ts allows its origin); a bare origin is not a template, so the page then draws its
// own plain background with ward names (works offline, as on CI).
import type { FastifyInstance } from 'fastify';

export interface PortalConfigDeps {
  /** Tile URL template (`https://tiles.example.vn/{z}/{x}/{y}.png`) or a bare origin. */
  readonly tileUrl: string | undefined;
  readonly tileAttribution?: string;
}

export interface PortalConfig {
  /** Leaflet tile template, or null: no tiles, draw the plain background. */
  readonly tileUrl: string | null;
  readonly tileAttribution: string | null;
}

const TEMPLATE = /\{z\}.*\{x\}.*\{y\}/;

export function portalConfig(deps: PortalConfigDeps): PortalConfig {
  const tileUrl = deps.tileUrl && TEMPLATE.test(deps.tileUrl) ? deps.tileUrl : null;
  const osm = tileUrl !== null && /openstreetmap\.org/.test(tileUrl);
  return Object.freeze({ tileUrl, tileAttribution: deps.tileAttribution ?? (osm ? '© OpenStreetMap contributors' : null) });
}

export async function portalConfigRoutes(app: FastifyInstance, deps: PortalConfigDeps): Promise<void> {
  const body = portalConfig(deps);
  app.get('/api/portal-config', async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(body));
}
