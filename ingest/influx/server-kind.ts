// Which server answers at INFLUX_URL, from its /ping answer: InfluxDB 1.x, 2.x, 3.x, or another
// server speaking the line protocol (VictoriaMetrics sends no version on /ping). The start-up
// check, the database set-up and the default auth scheme follow from it (docs/influxdb-compat.md).
import type { HttpHeaders } from '@influxdata/influxdb-client';

export type InfluxGeneration = 1 | 2 | 3;

export interface InfluxServer {
  /** Major version of InfluxDB, undefined when the server did not say (not InfluxDB, or unknown). */
  readonly generation: InfluxGeneration | undefined;
  /** `X-Influxdb-Version` as sent, e.g. `1.6.7~rc0`, `v2.7.11`, `3.8.0`. */
  readonly version: string | undefined;
  /** `X-Influxdb-Build`: `OSS` (1.x/2.x), `Core` or `Enterprise` (3.x). */
  readonly build: string | undefined;
}

const header = (headers: HttpHeaders, name: string): string | undefined => {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Reads the version headers of a /ping answer. 1.x and 2.x answer 204 with `X-Influxdb-Version`
 * (`1.x.y`, `v2.x.y`); 3.x answers 200 with `x-influxdb-version: 3.x.y` and `x-influxdb-build:
 * Core|Enterprise` (v2 OpenAPI `GET /ping`; InfluxDB 3 Core OpenAPI `GET /ping`).
 */
export function identifyServer(headers: HttpHeaders): InfluxServer {
  const version = header(headers, 'x-influxdb-version');
  const build = header(headers, 'x-influxdb-build');
  const major = /^v?(\d+)\./.exec(version ?? '')?.[1];
  let generation: InfluxGeneration | undefined;
  if (major === '1' || major === '2' || major === '3') generation = Number(major) as InfluxGeneration;
  else if (build === 'Core' || build === 'Enterprise') generation = 3;
  return { generation, version, build };
}

export type AuthScheme = 'token' | 'bearer' | 'basic';

/**
 * The Authorization header for a token. 2.x wants `Token` (v2 OpenAPI TokenAuthentication); 3.x
 * takes `Bearer` on every endpoint, `Token` on the v1/v2 compatibility endpoints only, and Basic
 * with the token as password on /write and /query (InfluxDB 3 Core OpenAPI securitySchemes) — so
 * `auto` is Bearer for 3.x and Token for anything else.
 */
export function authorization(token: string, scheme: AuthScheme | 'auto', server: InfluxServer | undefined): string {
  const chosen = scheme === 'auto' ? (server?.generation === 3 ? 'bearer' : 'token') : scheme;
  if (chosen === 'bearer') return `Bearer ${token}`;
  if (chosen === 'basic') return `Basic ${Buffer.from(`quantrac:${token}`).toString('base64')}`;
  return `Token ${token}`;
}
