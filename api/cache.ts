// In-process response cache for snapshots and aggregates: one entry per key for `ttlMs`, with
// concurrent misses coalesced into one in-flight computation, so a thousand citizens opening the
// map cost one database round per refresh period. Entries carry a strong ETag over their body.
import { createHash } from 'node:crypto';

export interface CachedBody {
  /** Serialised JSON. */
  readonly body: string;
  readonly etag: string;
  /** Epoch ms the entry was computed. */
  readonly computedAt: number;
}

export interface ResponseCache {
  /** The cached body of `key`, computing it with `compute` when absent or expired. */
  get(key: string, compute: () => Promise<unknown>): Promise<CachedBody>;
  stats(): { entries: number; hits: number; misses: number; coalesced: number };
  clear(): void;
}

export interface ResponseCacheOptions {
  readonly ttlMs: number;
  /** Most keys kept; the oldest entry is evicted first. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

export const etagOf = (body: string): string => `"${createHash('sha1').update(body).digest('base64url')}"`;

export function createResponseCache(opts: ResponseCacheOptions): ResponseCache {
  const now = opts.now ?? Date.now;
  const entries = new Map<string, CachedBody>();
  const inflight = new Map<string, Promise<CachedBody>>();
  const counts = { hits: 0, misses: 0, coalesced: 0 };
  return {
    get(key, compute) {
      const hit = entries.get(key);
      if (hit && now() - hit.computedAt < opts.ttlMs) {
        counts.hits++;
        return Promise.resolve(hit);
      }
      const pending = inflight.get(key);
      if (pending) {
        counts.coalesced++;
        return pending;
      }
      counts.misses++;
      const p = (async () => {
        try {
          const body = JSON.stringify(await compute());
          const entry: CachedBody = { body, etag: etagOf(body), computedAt: now() };
          if (opts.ttlMs > 0) {
            entries.delete(key);
            entries.set(key, entry);
            if (entries.size > opts.maxEntries) entries.delete(entries.keys().next().value as string);
          }
          return entry;
        } finally {
          inflight.delete(key);
        }
      })();
      inflight.set(key, p);
      return p;
    },
    stats: () => ({ entries: entries.size, ...counts }),
    clear: () => entries.clear(),
  };
}
