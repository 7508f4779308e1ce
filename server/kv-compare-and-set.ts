// Writing the entries an administrator's command changed (accounts, gateway credentials) to a
// replicated KV bucket: each changed key with compare-and-set on the revision it was read at, and,
// once the writes have had `settleMs` to settle, a check that each is still its key's latest.
// nats-server before 2.9.21 (Debian 12 ships 2.9.10) can accept two compare-and-sets on one
// revision when they arrive together, and stores the later (nats-server#4320): without the check,
// one of two administrators' edits of the same key would be lost while both commands said "done".
// With it, the one overtaken is told so (ConcurrentEditError) and nothing is lost silently. A later
// edit made on top of this one within the settle time is reported the same way (rare, and harmless:
// run the command again after checking with `list`).
import type { KV } from '@nats-io/kv';

export class ConcurrentEditError extends Error {
  override readonly name = 'ConcurrentEditError';
}

export interface ChangedEntry {
  readonly key: string;
  readonly json: string;
  /** The revision the key was read at; undefined: the key did not exist (create). */
  readonly revision: number | undefined;
}

/** How long a write has to settle before it is checked (the race window is a round trip at most). */
export const SETTLE_MS = 250;

/**
 * Writes every entry (compare-and-set; a lost one throws the client's error, for the caller to
 * read again and retry), then checks that each write is still its key's latest value.
 */
export async function writeChangedEntries(kv: KV, entries: readonly ChangedEntry[], settleMs = SETTLE_MS): Promise<void> {
  const written: { key: string; json: string; revision: number }[] = [];
  for (const e of entries) {
    const revision = e.revision === undefined ? await kv.create(e.key, e.json) : await kv.update(e.key, e.json, e.revision);
    written.push({ key: e.key, json: e.json, revision });
  }
  if (written.length === 0) return;
  await new Promise((r) => setTimeout(r, settleMs));
  for (const w of written) {
    const latest = await kv.get(w.key);
    if (latest?.revision === w.revision) continue;
    if (latest?.operation === 'PUT' && Buffer.from(latest.value).toString('utf8') === w.json) continue; // the same content
    throw new ConcurrentEditError(`${w.key}: another change to it arrived at the same moment and may have replaced this one; check with list and run the command again`);
  }
}

/**
 * Runs `change` on a snapshot of the bucket (`read`) and writes back the entries (`entriesOf`) it
 * changed. A lost compare-and-set reads again and runs the change again (at most 6 times, then the
 * error is reported); a write overtaken after it was accepted is reported (ConcurrentEditError),
 * not run again over the other edit.
 */
export async function updateEntries<F, T>(
  kv: KV,
  read: () => Promise<{ file: F; revisions: ReadonlyMap<string, number> }>,
  entriesOf: (file: F) => Readonly<Record<string, unknown>>,
  change: (file: F) => T | Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const { file, revisions } = await read();
    const before = new Map(Object.entries(entriesOf(file)).map(([key, e]) => [key, JSON.stringify(e)]));
    const result = await change(file);
    const changed = Object.entries(entriesOf(file))
      .map(([key, entry]) => ({ key, json: JSON.stringify(entry), revision: revisions.get(key) }))
      .filter((e) => before.get(e.key) !== e.json);
    try {
      await writeChangedEntries(kv, changed);
      return result;
    } catch (err) {
      if (err instanceof ConcurrentEditError || attempt >= 5) throw err; // or someone kept winning the race
    }
  }
}
