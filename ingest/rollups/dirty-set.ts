// The (station, hour) buckets touched by stored readings and not yet recomputed, kept in a small
// journal file so that a crash between "stored" and "recomputed" loses no bucket: the journal is
// durable before the writer lets the spool release those readings (the consumer's checkpoint rule).
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hourStart } from '../../contracts/rollups.ts';

export interface DirtyHour {
  readonly stationId: string;
  readonly hourMs: number;
}

export interface DirtySet {
  /** Marks the hours of these readings; resolves once new marks are durable. */
  mark(readings: Iterable<{ readonly stationId: string; readonly ts: number }>): Promise<void>;
  /** Everything marked so far, with a token to clear exactly these marks after they are recomputed. */
  take(): { hours: DirtyHour[]; token: number };
  /** Clears the marks taken with `token` that were not marked again since (only `hours` of them, when given). */
  clear(token: number, hours?: readonly DirtyHour[]): Promise<void>;
  size(): number;
}

const keyOf = (stationId: string, hourMs: number) => `${stationId}\t${hourMs}`;

/** `path` undefined: in memory only (tests, the rebuild command). */
export function createDirtySet(path?: string): DirtySet {
  const marks = new Map<string, number>(); // key → generation of its latest mark
  let generation = 0;
  if (path) {
    try {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as { hours?: [string, number][] };
      for (const [s, h] of saved.hours ?? []) marks.set(keyOf(s, h), 0);
    } catch {
      // absent (first start) or unreadable: nothing pending
    }
  }

  let writing: Promise<void> = Promise.resolve();
  /** Writes the current marks (temp file, fdatasync, rename); writes are serialised, off the event loop. */
  function persist(): Promise<void> {
    if (!path) return Promise.resolve();
    writing = writing.catch(() => undefined).then(async () => {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.tmp`;
      const hours = [...marks.keys()].map((k) => {
        const tab = k.indexOf('\t');
        return [k.slice(0, tab), Number(k.slice(tab + 1))];
      });
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify({ version: 1, hours }));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    });
    return writing;
  }

  return {
    async mark(readings) {
      generation++;
      let added = false;
      for (const r of readings) {
        const key = keyOf(r.stationId, hourStart(r.ts));
        if (!marks.has(key)) added = true;
        marks.set(key, generation);
      }
      if (added) await persist();
    },
    take() {
      const hours: DirtyHour[] = [];
      for (const k of marks.keys()) {
        const tab = k.indexOf('\t');
        hours.push({ stationId: k.slice(0, tab), hourMs: Number(k.slice(tab + 1)) });
      }
      return { hours, token: generation };
    },
    async clear(token, hours) {
      let removed = false;
      const keys = hours ? hours.map((h) => keyOf(h.stationId, h.hourMs)) : [...marks.keys()];
      for (const k of keys) {
        const g = marks.get(k);
        if (g !== undefined && g <= token) {
          marks.delete(k);
          removed = true;
        }
      }
      if (removed) await persist();
    },
    size: () => marks.size,
  };
}
