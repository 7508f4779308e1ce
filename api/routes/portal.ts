// The portal's static files at `/`: a path resolves inside the portal folder or not at all (no
// `..`, encoded or not, climbs out); a path that is not a file (unknown route, folder) gets the
// single-page index.html; a path that cannot be decoded is 400.
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The file a URL path names inside `root`, or undefined when it would leave `root` or is malformed. */
export function portalFileOf(root: string, urlPath: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0') || path.includes('\\')) return undefined;
  const file = resolve(root, `.${path.startsWith('/') ? path : `/${path}`}`);
  return file === root || file.startsWith(root + sep) ? file : undefined;
}

const isFile = async (file: string) => (await stat(file).catch(() => undefined))?.isFile() ?? false;

export async function portalRoutes(app: FastifyInstance, deps: { readonly portalDir: string }): Promise<void> {
  const root = resolve(deps.portalDir);
  const index = resolve(root, 'index.html');
  app.get('/*', async (req, reply) => {
    const urlPath = req.url.split('?')[0] ?? '/';
    const file = portalFileOf(root, urlPath);
    if (file === undefined) throw new ApiError('BAD_PATH');
    const served = (await isFile(file)) ? file : index;
    if (!(await isFile(served))) throw new ApiError('NOT_FOUND', 'no portal is built');
    return reply.type(MIME[extname(served)] ?? 'application/octet-stream').send(await readFile(served));
  });
}
