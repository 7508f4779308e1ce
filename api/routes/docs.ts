// API documentation: the OpenAPI document at /openapi.json and Swagger UI at /docs (served from
// the @fastify/swagger-ui package, no CDN), both generated from contracts/api.ts.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { buildOpenApi } from '../openapi.ts';

export async function docsRoutes(app: FastifyInstance, deps: { readonly version: string }): Promise<void> {
  const document = buildOpenApi({ version: deps.version });
  // Static mode: the document is ours; @fastify/swagger only hands it to the UI.
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false });
  app.get('/openapi.json', async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(document));
}
