// The rollups' pending (station, hour) buckets in cluster mode: the DirtySet of dirty-set.ts on one
// key of the replicated KV bucket (quantrac_checkpoints, key `rollups-p{n}` per log partition)
// instead of DATA_DIR/rollups/pending.json, so a writer that dies leaves its marks to whichever
// writer takes its partition over. Marks are durable before the store lane's checkpoint passes
// their readings (the writer awaits mark() in onStored), as with the file journal.
// Every write is a compare-and-set on the revision this set last read or wrote; claim() moves the
// revision on, so an old owner still running after losing its lease can write nothing more
// (LaneFencedError, the lane state's rule: kv-lane-state.ts).
import type { KV } from '@nats-io/kv';
import { hourStart, HOUR_MS } from '../../contracts/rollups.ts';
import { LaneFencedError, settleClaim, writeFenced } from '../log/kv-lane-state.ts';
import type { DirtyHour, DirtySet } from './dirty-set.ts';

export interface KvDirtySet extends DirtySet {
  /** Makes this set the key's only writer and loads the marks a predecessor left (call once, first). */
  claim(): Promise<void>;
  /**
   * The revision of officers' validation marks (bucket quantrac_validations) up to which every change
   * has been marked here, as the key holds it (undefined: never recorded). A writer taking the
   * partition over marks the changes after it: those made while no writer ran the partition.
   */
  validationsApplied(): number | undefined;
  /** Marks the hours a change of validation marks touches and records its revision, in one write. */
  markValidations(readings: Iterable<{ readonly stationId: string; readonly ts: number }>, revision: number): Promise<void>;
}

/**
 * `{version, stations: {id: [hour numbers since the epoch]}, validations?: revision}`: compact (the
 * key's value is bounded by NATS's max payload).
 */
const FORMAT_VERSION = 1;

export const rollupsPendingKey = (partition: number) => `rollups-p${partition}`;

export function createKvDirtySet(kv: KV, key: string): KvDirtySet {
  /** station → hourMs → generation of its latest mark. */
  const marks = new Map<string, Map<number, number>>();
  let generation = 0;
  let revision: number | undefined; // undefined until claim(); 0 = the key never existed
  /** Changes to the marks, and how many of them the key holds: a mark after a failed write writes again. */
  let changes = 0;
  let savedChanges = 0;
  let writing: Promise<void> = Promise.resolve();
  let validations: number | undefined;

  const encode = () => {
    const stations: Record<string, number[]> = {};
    for (const [s, hours] of marks) if (hours.size > 0) stations[s] = [...hours.keys()].map((h) => h / HOUR_MS);
    return JSON.stringify({ version: FORMAT_VERSION, stations, ...(validations !== undefined ? { validations } : {}) });
  };

  function load(value: string): void {
    try {
      const saved = JSON.parse(value) as { stations?: Record<string, number[]>; validations?: unknown };
      if (typeof saved.validations === 'number' && Number.isSafeInteger(saved.validations)) validations = saved.validations;
      for (const [s, hours] of Object.entries(saved.stations ?? {})) {
        for (const h of hours) if (Number.isSafeInteger(h)) add(s, h * HOUR_MS, 0);
      }
    } catch {
      // unreadable: nothing pending (the next write replaces it)
    }
  }

  function add(stationId: string, hourMs: number, gen: number): boolean {
    let hours = marks.get(stationId);
    if (!hours) marks.set(stationId, (hours = new Map()));
    const isNew = !hours.has(hourMs);
    hours.set(hourMs, gen);
    if (isNew) changes++;
    return isNew;
  }

  async function writeNow(): Promise<void> {
    const upTo = changes;
    await writeFenced(kv, key, encode(), revision, 'rollup marks', (r) => (revision = r));
    savedChanges = Math.max(savedChanges, upTo);
  }

  /** Writes are serialised; each writes the marks as they are when it runs. */
  function persist(): Promise<void> {
    writing = writing.catch(() => undefined).then(writeNow);
    return writing;
  }

  return {
    async claim() {
      for (let attempt = 0; ; attempt++) {
        const e = await kv.get(key);
        revision = e?.revision ?? 0;
        if (e && e.operation === 'PUT') load(e.string());
        try {
          if (e && e.operation === 'PUT') await writeNow(); // moves the revision: the old owner is fenced
          await settleClaim(kv, new Map([[key, revision]]));
          return;
        } catch (err) {
          // The old owner wrote between our read and rewrite: read its newer marks and try again.
          if (!(err instanceof LaneFencedError) || attempt >= 5) throw err;
        }
      }
    },
    async mark(readings) {
      generation++;
      for (const r of readings) add(r.stationId, hourStart(r.ts), generation);
      if (changes > savedChanges) await persist();
    },
    validationsApplied: () => validations,
    async markValidations(readings, revision) {
      generation++;
      for (const r of readings) add(r.stationId, hourStart(r.ts), generation);
      if (validations === undefined || revision > validations) {
        validations = revision;
        changes++;
      }
      if (changes > savedChanges) await persist();
    },
    take() {
      const hours: DirtyHour[] = [];
      for (const [stationId, hs] of marks) for (const hourMs of hs.keys()) hours.push({ stationId, hourMs });
      return { hours, token: generation };
    },
    async clear(token, only) {
      let removed = false;
      const remove = (stationId: string, hourMs: number) => {
        const hours = marks.get(stationId);
        const g = hours?.get(hourMs);
        if (!hours || g === undefined || g > token) return;
        hours.delete(hourMs);
        if (hours.size === 0) marks.delete(stationId);
        changes++;
        removed = true;
      };
      if (only) for (const h of only) remove(h.stationId, h.hourMs);
      else for (const [s, hours] of [...marks]) for (const h of [...hours.keys()]) remove(s, h);
      if (removed) await persist();
    },
    size: () => {
      let n = 0;
      for (const hours of marks.values()) n += hours.size;
      return n;
    },
  };
}
