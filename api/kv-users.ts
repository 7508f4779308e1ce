// Officer and operator accounts in a replicated JetStream KV bucket (cluster mode): one key per user
// name holding the entry users.json would hold ({role, hash, disabled?}). Every API process watches
// the bucket, so `npm run users` on any machine reaches all of them within a second; writers use
// compare-and-set on each key's revision, so two admins cannot lose each other's edits.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { checkUsers, UserEntrySchema, USER_NAME, type UserEntry, type UsersFile, type UsersUpdater } from './users-file.ts';
import type { UsersSource } from './users-source.ts';
import { updateEntries } from '../server/kv-compare-and-set.ts';

export const USERS_BUCKET = 'quantrac_users';

export async function openUsersBucket(nc: NatsConnection, replicas = 3): Promise<KV> {
  return new Kvm(nc).create(USERS_BUCKET, { replicas, history: 5 });
}

/** A key's entry, or why it is not usable (a name users.json would refuse, bad JSON, a bad schema). */
export function decodeUserEntry(key: string, value: Uint8Array): { entry: UserEntry } | { problem: string } {
  if (!USER_NAME.test(key)) return { problem: 'not a valid user name' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = UserEntrySchema.safeParse(json);
  if (!parsed.success) return { problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ') };
  return { entry: parsed.data };
}

export interface KvUsersSource extends UsersSource {
  close(): Promise<void>;
}

export interface KvUsersSourceOptions {
  /** A key's new value is not a usable entry: that user is refused until it is replaced. Once per revision. */
  readonly onBadEntry?: (user: string, problem: string) => void;
  /** Every key is read again this often, in case the watch stalled (a NATS server lost), ms; default 30 s. */
  readonly refreshEveryMs?: number;
}

/**
 * Answers from the entries the watch delivered (and the periodic re-read), newest revision per key
 * first, so the two can arrive in any order. Resolves once every stored entry is loaded.
 */
export async function createKvUsersSource(kv: KV, opts: KvUsersSourceOptions = {}): Promise<KvUsersSource> {
  const latest = new Map<string, { revision: number; entry?: UserEntry; problem?: string }>();
  const apply = (e: KvEntry): void => {
    const known = latest.get(e.key);
    if (known && known.revision >= e.revision) return;
    if (e.operation !== 'PUT') return void latest.set(e.key, { revision: e.revision });
    const decoded = decodeUserEntry(e.key, e.value);
    if ('entry' in decoded) return void latest.set(e.key, { revision: e.revision, entry: decoded.entry });
    latest.set(e.key, { revision: e.revision, problem: decoded.problem });
    opts.onBadEntry?.(e.key, decoded.problem);
  };
  const readAll = async (): Promise<void> => {
    const keys = new Set(latest.keys());
    for await (const key of await kv.keys()) keys.add(key);
    for (const key of keys) {
      const e = await kv.get(key);
      if (e) apply(e);
    }
  };

  const watch = await kv.watch();
  void (async () => {
    for await (const e of watch) apply(e);
  })().catch(() => undefined); // a watch that ends: the periodic re-read goes on
  await readAll();
  let refreshing = false;
  const timer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    readAll()
      .catch(() => undefined) // the cluster out of reach for now: the watch and the next round go on
      .finally(() => (refreshing = false));
  }, opts.refreshEveryMs ?? 30_000);
  timer.unref();

  return {
    get: (user) => latest.get(user)?.entry,
    problem() {
      const bad = [...latest].filter(([, v]) => v.problem).map(([key, v]) => `${key} (${v.problem})`);
      return bad.length > 0 ? `${USERS_BUCKET}: entries not usable, those users are refused: ${bad.join(', ')}` : undefined;
    },
    async close() {
      clearInterval(timer);
      watch.stop();
    },
  };
}

/** The whole bucket as a users file (bad entries left out), with every key's revision for compare-and-set. */
async function snapshot(kv: KV): Promise<{ file: UsersFile; revisions: Map<string, number>; bad: Map<string, string> }> {
  const file: UsersFile = { version: 1, users: {} };
  const revisions = new Map<string, number>();
  const bad = new Map<string, string>();
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (!e) continue;
    revisions.set(key, e.revision);
    if (e.operation !== 'PUT') continue;
    const decoded = decodeUserEntry(key, e.value);
    if ('entry' in decoded) file.users[key] = decoded.entry;
    else bad.set(key, decoded.problem);
  }
  return { file, revisions, bad };
}

/** The bucket's accounts, and the keys whose entries are not usable with why. */
export async function readKvUsers(kv: KV): Promise<{ file: UsersFile; bad: Map<string, string> }> {
  const { file, bad } = await snapshot(kv);
  return { file, bad };
}

/**
 * Runs `change` on the bucket's accounts and writes back the entries it changed, each with
 * compare-and-set on the revision it read (a key nobody wrote yet: create); on a lost race the
 * whole change runs again on the new content (at most 6 times, then the error is reported). A write
 * the server accepted but another one overtook (server/kv-compare-and-set.ts) is reported as
 * ConcurrentEditError, not re-run.
 */
export function kvUsersUpdater(kv: KV): UsersUpdater {
  return (change) => updateEntries(kv, () => snapshot(kv), (file) => checkUsers(file, USERS_BUCKET).users, change);
}
