// Test helpers that look at InfluxDB directly (not through quantrac), so that tests check what was
// really stored.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

export const influxUrl = (): string => inject('influxUrl');

/** A fresh database name, unique to this test. */
export const uniqueDatabase = (prefix = 't'): string => `${prefix}_${randomBytes(4).toString('hex')}`;

export async function influxQuery(database: string, q: string, url = influxUrl()): Promise<{ columns: string[]; values: unknown[][] }[]> {
  const res = await fetch(`${url}/query?${new URLSearchParams({ db: database, q, epoch: 'ms' })}`);
  const body = (await res.json()) as { results: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[] };
  const first = body.results[0];
  if (first?.error) throw new Error(first.error);
  return first?.series ?? [];
}

/** Rows of one measurement as objects keyed by column. */
export async function influxRows(database: string, q: string, url = influxUrl()): Promise<Record<string, unknown>[]> {
  const series = await influxQuery(database, q, url);
  return series.flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
