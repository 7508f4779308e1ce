// Error statuses and the portal's static files over real HTTP: a folder is not a 503, InfluxDB
// being down is 503 DATABASE_UNAVAILABLE, a bug is 500 and logged; no path (plain, encoded, double
// encoded, backslashed) reads a file outside the portal folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppHarness, type AppHarness } from './app-harness.ts';

let h: AppHarness;
let portal: string;
const SECRET = 'do-not-serve-this-secret';

/** A closed port: connections are refused, as when InfluxDB is down. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

/** GET with the path sent byte for byte (fetch would normalise `..`). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'quantrac-portal-'));
  portal = join(base, 'dist');
  mkdirSync(join(portal, 'assets'), { recursive: true });
  writeFileSync(join(portal, 'index.html'), '<!doctype html><title>portal</title>');
  writeFileSync(join(portal, 'assets', 'app.js'), 'console.log(1)');
  // Siblings of the portal folder a traversal would reach.
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'dist-secret.txt'), SECRET);
  h = await startAppHarness({
    influxUrl: await deadUrl(),
    portalDir: portal,
    beforeListen: (app) => {
      app.get('/test/bug', async () => {
        const o: { missing?: { field: number } } = {};
        return o.missing!.field;
      });
    },
  });
});
afterAll(async () => {
  await h?.close();
  rmSync(join(portal, '..'), { recursive: true, force: true });
});

describe('error statuses', () => {
  it('serves the portal for a folder path (GET /assets was EISDIR → 503)', async () => {
    const res = await fetch(`${h.url}/assets`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>portal</title>');
    expect(await (await fetch(`${h.url}/assets/app.js`)).text()).toBe('console.log(1)');
  });

  it('answers 503 DATABASE_UNAVAILABLE when InfluxDB is unreachable', async () => {
    const res = await fetch(`${h.url}/api/stations/air-001/latest`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'DATABASE_UNAVAILABLE' });
  });

  it('answers a bug with 500 INTERNAL_ERROR and logs it with its stack', async () => {
    const res = await fetch(`${h.url}/test/bug`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'INTERNAL_ERROR' });
    const logged = h.logs.find((l) => l.level === 50 && (l.err as { type?: string } | undefined)?.type === 'TypeError');
    expect(logged, JSON.stringify(h.logs)).toBeDefined();
    expect((logged!.err as { stack: string }).stack).toMatch(/field/);
  });

  it('answers 400 to a path that is not valid percent-encoding', async () => {
    const res = await rawGet(h.url, '/%E0%A4%A');
    expect(res.status).toBe(400);
  });
});

describe('static files stay inside the portal folder', () => {
  const attempts = [
    '/../secret.txt',
    '/../../../../../../etc/passwd',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/..%2fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/%252e%252e/secret.txt',
    '/..%5csecret.txt',
    '/....//secret.txt',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/../dist-secret.txt',
    '/%2e%2e/dist-secret.txt',
    '/secret.txt%00.html',
  ];
  for (const path of attempts) {
    it(`does not serve ${path}`, async () => {
      const res = await rawGet(h.url, path);
      expect(res.body).not.toContain(SECRET);
      expect(res.body).not.toMatch(/root:.*:0:0:/);
      expect([200, 400, 404]).toContain(res.status);
    });
  }
});
