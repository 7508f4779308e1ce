// Officers' validation marks in a replicated JetStream KV bucket (cluster mode): one key per mark id
// holding the mark as validations.json would hold it. Every API process watches the bucket, so a
// mark made through one is listed and applied (AQI, series, exports) by all within a second; an undo
// is a compare-and-set on the mark's revision (checked again after it settles, for nats-server 2.9),
// so two officers cannot both undo it or lose a change. The writers and alert evaluators watch it
// read-only through the same store (server/roles/validation-marks.ts).
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { ValidationMarkSchema, type ValidationMark } from '../contracts/api.ts';
import { exclusionIndex, type ExclusionIndex } from '../contracts/validations.ts';
import { newMark, revokedMark, type ValidationStore } from './validation-store.ts';

export const VALIDATIONS_BUCKET = 'quantrac_validations';

export async function openValidationsBucket(nc: NatsConnection, replicas = 3): Promise<KV> {
  return new Kvm(nc).create(VALIDATIONS_BUCKET, { replicas, history: 5 });
}

export interface KvValidationStore extends ValidationStore {
  /**
   * The bucket revision the watch has delivered up to (in order): every change at or before it has
   * been applied and passed to `onChange`.
   */
  watchedRevision(): number;
  /** The range of every mark whose key changed after `revision` (made or undone since), as far as known. */
  changedSince(revision: number): MarkChange[];
  add(...args: Parameters<ValidationStore['add']>): Promise<ValidationMark>;
  revoke(...args: Parameters<ValidationStore['revoke']>): Promise<ValidationMark | undefined>;
  close(): Promise<void>;
}

export interface KvValidationStoreOptions {
  /** A key's value is not a mark: it is left out (not applied, not listed). Once per revision. */
  readonly onBadEntry?: (key: string, problem: string) => void;
  /** How long an undo waits before checking that no concurrent undo was stored after it, ms (default 250). */
  readonly settleMs?: number;
  /**
   * A mark made, undone or removed by anyone after the watch started (not the marks already there):
   * the station and range whose values it changed — the old mark's and the new one's, once each.
   * Called after the change is in `index()`. For the rollups to recompute the hours it touches.
   */
  readonly onChange?: (change: MarkChange) => void;
}

/** The values a change of marks made count or not again: a station and a range, at a bucket revision. */
export interface MarkChange {
  readonly station: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly revision: number;
}

function decode(e: KvEntry): { mark: ValidationMark } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(e.value).toString('utf8'));
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = ValidationMarkSchema.safeParse(json);
  if (!parsed.success) return { problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(mark)'}: ${i.message}`).join('; ') };
  if (parsed.data.id !== e.key) return { problem: `id ${parsed.data.id} is not its key` };
  return { mark: parsed.data };
}

/**
 * Answers from the marks the watch delivered, newest revision per key first; the process's own
 * changes are applied as soon as the bucket stored them (read your writes). Resolves once every
 * stored mark is loaded.
 */
export async function createKvValidationStore(kv: KV, opts: KvValidationStoreOptions = {}): Promise<KvValidationStore> {
  const settleMs = opts.settleMs ?? 250;
  const latest = new Map<string, { revision: number; mark?: ValidationMark }>();
  let changes = 0;
  let cached: { changes: number; marks: ValidationMark[]; index: ExclusionIndex } | undefined;
  const apply = (e: KvEntry): void => {
    const known = latest.get(e.key);
    if (known && known.revision >= e.revision) return;
    changes++;
    if (e.operation !== 'PUT') return void latest.set(e.key, { revision: e.revision });
    const decoded = decode(e);
    if ('mark' in decoded) return void latest.set(e.key, { revision: e.revision, mark: decoded.mark });
    latest.set(e.key, { revision: e.revision });
    opts.onBadEntry?.(e.key, decoded.problem);
  };
  const view = () => {
    if (cached?.changes !== changes) {
      const marks = [...latest.values()].flatMap((v) => (v.mark ? [v.mark] : [])).sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id.localeCompare(b.id));
      cached = { changes, marks, index: exclusionIndex(marks) };
    }
    return cached;
  };
  /** This process's own write, applied at once (a read may be served by a replica not yet holding it). */
  const own = (key: string, revision: number, mark: ValidationMark): void => {
    const known = latest.get(key);
    if (known && known.revision >= revision) return;
    latest.set(key, { revision, mark });
    changes++;
  };
  const load = async (key: string): Promise<KvEntry | undefined> => {
    const e = await kv.get(key);
    if (e) apply(e);
    return e ?? undefined;
  };

  // The bucket's last revision before the watch: what the watch delivers up to it was there already.
  // (Not KvWatchEntry.isUpdate: @nats-io/kv 3.4's watch() sets it on the last initial value too.)
  const storedBefore = opts.onChange ? (await kv.status()).streamInfo.state.last_seq : 0;
  /** Each key's mark as the watch delivered it: the before of the next change (whoever applied it first). */
  const watched = new Map<string, ValidationMark | undefined>();
  const changed = (e: KvEntry): void => {
    if (!opts.onChange) return;
    const before = watched.get(e.key);
    const decoded = e.operation === 'PUT' ? decode(e) : undefined;
    const after = decoded && 'mark' in decoded ? decoded.mark : undefined;
    watched.set(e.key, after);
    if (e.revision <= storedBefore) return; // a mark already stored when the watch started: not a change
    const ranges = new Map<string, MarkChange>();
    for (const m of [before, after]) if (m) ranges.set(`${m.station}\0${m.from}\0${m.to}`, { station: m.station, fromMs: Date.parse(m.from), toMs: Date.parse(m.to), revision: e.revision });
    for (const r of ranges.values()) opts.onChange(r);
  };

  let watchedUpTo = 0;
  const watch = await kv.watch();
  void (async () => {
    for await (const e of watch) {
      apply(e);
      changed(e);
      watchedUpTo = Math.max(watchedUpTo, e.revision);
    }
  })().catch(() => undefined); // a watch that ends: this process's own changes still apply
  for await (const key of await kv.keys()) await load(key);

  return {
    marks: () => view().marks,
    index: () => view().index,
    revision: () => `kv:${changes}`,
    watchedRevision: () => watchedUpTo,
    changedSince(revision) {
      const out: MarkChange[] = [];
      for (const v of latest.values()) {
        if (v.revision > revision && v.mark) out.push({ station: v.mark.station, fromMs: Date.parse(v.mark.from), toMs: Date.parse(v.mark.to), revision: v.revision });
      }
      return out;
    },
    problem: () => undefined, // a bad entry leaves out that mark only; changes to the others go on
    async add(m, nowMs = Date.now()) {
      const mark = newMark(m, nowMs);
      own(mark.id, await kv.create(mark.id, JSON.stringify(mark)), mark);
      return mark;
    },
    async revoke(id, by, reason, nowMs = Date.now()) {
      if (!/^[-/_=.a-zA-Z0-9]+$/.test(id)) return undefined; // not a key the bucket can hold: no such mark
      for (let attempt = 0; ; attempt++) {
        const e = await load(id);
        const old = e ? latest.get(id)?.mark : undefined;
        if (!e || !old || old.revokedAt !== undefined) return undefined;
        const done = revokedMark(old, by, reason, nowMs);
        let revision: number;
        try {
          revision = await kv.update(id, JSON.stringify(done), e.revision); // refused when someone changed it since
        } catch (err) {
          if (attempt >= 5) throw err;
          continue; // read again: undone meanwhile → undefined
        }
        // nats-server before 2.9.21 may accept two writes that expected the same revision when they
        // arrive together (nats-server#4320); the later one is stored. A revoked mark is never
        // written again otherwise, so a revision after ours is a concurrent undo that won.
        await new Promise((r) => setTimeout(r, settleMs));
        const after = await load(id);
        if (after && after.revision > revision) return undefined;
        own(id, revision, done);
        return done;
      }
    },
    async close() {
      watch.stop();
    },
  };
}
