// MQTT credentials in a replicated JetStream KV bucket (cluster mode): one key per user name, the
// same JSON entry as DATA_DIR/gateways.json holds (scrypt hash, role, dates). Every edge watches
// the bucket, so an `npm run gateways` change reaches all of them in milliseconds and the broker
// ends revoked or rotated sessions at once (CredentialStore.onChange). Writers use compare-and-set
// on each key's revision, so two admins cannot lose each other's edits.
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { updateEntries } from '../server/kv-compare-and-set.ts';
import { verifyPassword, type CredentialStore, type CredentialsFile, type CredentialUpdater, type GatewayCredential } from './gateway-credentials.ts';

export const CREDENTIALS_BUCKET = 'quantrac_gateways';

export async function openCredentialsBucket(nc: NatsConnection, replicas = 3): Promise<KV> {
  return new Kvm(nc).create(CREDENTIALS_BUCKET, { replicas, history: 5 });
}

const decode = (value: Uint8Array): GatewayCredential | undefined => {
  try {
    return JSON.parse(Buffer.from(value).toString('utf8')) as GatewayCredential;
  } catch {
    return undefined;
  }
};

export interface KvCredentialStore extends CredentialStore {
  close(): Promise<void>;
}

/**
 * verify() reads the key (authoritative at connect time); isLive() answers from the entries the
 * watch has delivered, so a revocation anywhere ends the session here as soon as it arrives.
 */
export async function createKvCredentialStore(kv: KV): Promise<KvCredentialStore> {
  const latest = new Map<string, GatewayCredential | undefined>();
  const listeners = new Set<() => void>();
  let changes = 0;
  const watch = await kv.watch();
  void (async () => {
    for await (const e of watch) {
      latest.set(e.key, e.operation === 'PUT' ? decode(e.value) : undefined);
      changes++;
      for (const l of listeners) l();
    }
  })();
  const live = (entry: GatewayCredential | undefined): entry is GatewayCredential => entry !== undefined && !entry.revokedAt;
  return {
    async verify(username, password) {
      if (!/^[-/_=.a-zA-Z0-9]+$/.test(username)) return undefined; // not a valid key: no such user
      const e = await kv.get(username);
      const entry = e && e.operation === 'PUT' ? decode(e.value) : undefined;
      if (!live(entry) || !(await verifyPassword(password, entry.hash))) return undefined;
      if (!latest.has(username)) latest.set(username, entry);
      return { id: username, role: entry.role ?? 'gateway', hash: entry.hash };
    },
    isLive(user) {
      const entry = latest.get(user.id);
      return live(entry) && entry.hash === user.hash;
    },
    revision: () => String(changes),
    onChange(listener) {
      listeners.add(listener);
    },
    async close() {
      watch.stop();
    },
  };
}

/** The whole bucket as a credentials file, with each key's revision for compare-and-set. */
async function snapshot(kv: KV): Promise<{ file: CredentialsFile; revisions: Map<string, number> }> {
  const file: CredentialsFile = { version: 1, gateways: {} };
  const revisions = new Map<string, number>();
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (!e) continue;
    revisions.set(key, e.revision);
    const entry = e.operation === 'PUT' ? decode(e.value) : undefined;
    if (entry) file.gateways[key] = entry;
  }
  return { file, revisions };
}

export async function readKvCredentials(kv: KV): Promise<CredentialsFile> {
  return (await snapshot(kv)).file;
}

/**
 * Runs `change` on the bucket's content and writes back the entries it changed (CAS; retried on a
 * conflict; a write overtaken after it was accepted is reported as ConcurrentEditError).
 */
export function kvCredentialUpdater(kv: KV): CredentialUpdater {
  return (change) => updateEntries(kv, () => snapshot(kv), (file) => file.gateways, change);
}
