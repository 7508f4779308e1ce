// The cluster's shared state in a backup (ops/backup.ts, ops/restore.ts, with NATS_URL): the live
// entries of the four replicated KV buckets — gateway credentials, officer accounts, validation
// marks, the API token secret — one JSON file per bucket under kv/. Lane checkpoints, leases and
// the log streams are not here: they are derived or transient (README › Cluster mode).
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { openApiSecretsBucket, API_SECRETS_BUCKET } from '../api/kv-token-secret.ts';
import { openUsersBucket, USERS_BUCKET } from '../api/kv-users.ts';
import { openValidationsBucket, VALIDATIONS_BUCKET } from '../api/kv-validation-store.ts';
import { CREDENTIALS_BUCKET, openCredentialsBucket } from '../broker/kv-credentials.ts';
import { sha256File } from './backup-files.ts';

/** Folder of the KV bucket files inside a backup. */
export const KV_DIR = 'kv';

/** The buckets a backup carries, each opened (created when missing) with the settings its owner uses. */
export const KV_BUCKETS: readonly { readonly bucket: string; readonly open: (nc: NatsConnection) => Promise<KV> }[] = [
  { bucket: CREDENTIALS_BUCKET, open: openCredentialsBucket },
  { bucket: USERS_BUCKET, open: openUsersBucket },
  { bucket: VALIDATIONS_BUCKET, open: openValidationsBucket },
  { bucket: API_SECRETS_BUCKET, open: openApiSecretsBucket },
];

/** A value as stored: UTF-8 text as it is (every bucket's values today), other bytes as base64. */
export type KvValue = { readonly text: string } | { readonly base64: string };

export interface KvBucketFile {
  readonly bucket: string;
  /** Its name inside the backup's kv/ folder. */
  readonly name: string;
  readonly entries: number;
  readonly bytes: number;
  readonly sha256: string;
}

const toValue = (bytes: Uint8Array): KvValue => {
  const text = Buffer.from(bytes).toString('utf8');
  return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? { text } : { base64: Buffer.from(bytes).toString('base64') };
};
const toBytes = (v: KvValue): Buffer => ('text' in v ? Buffer.from(v.text, 'utf8') : Buffer.from(v.base64, 'base64'));

/** Writes each bucket's live PUT entries to `out`/kv/<bucket>.json; a bucket the cluster lacks is written empty. */
export async function backupKv(nc: NatsConnection, out: string): Promise<KvBucketFile[]> {
  await mkdir(join(out, KV_DIR), { recursive: true, mode: 0o700 });
  const present = new Set<string>();
  for await (const s of new Kvm(nc).list()) present.add(s.bucket);
  const files: KvBucketFile[] = [];
  for (const { bucket } of KV_BUCKETS) {
    const entries: Record<string, KvValue> = {};
    if (present.has(bucket)) {
      const kv = await new Kvm(nc).open(bucket);
      for await (const key of await kv.keys()) {
        const e = await kv.get(key);
        if (e && e.operation === 'PUT') entries[key] = toValue(e.value);
      }
    }
    const name = `${bucket}.json`;
    const to = join(out, KV_DIR, name);
    await writeFile(to, `${JSON.stringify({ bucket, entries }, null, 2)}\n`, { mode: 0o600 });
    files.push({ bucket, name, entries: Object.keys(entries).length, bytes: (await stat(to)).size, sha256: await sha256File(to) });
  }
  return files;
}

interface KeyPlan {
  readonly bucket: string;
  readonly key: string;
  readonly value: Buffer;
  /** The key's current revision when it holds another value; absent when the key is free. */
  readonly revision?: number;
}

export interface KvRestorePlan {
  /** Keys absent (or deleted) in the cluster: created. */
  readonly missing: KeyPlan[];
  /** Keys holding the backup's value already: left alone. */
  readonly same: KeyPlan[];
  /** Keys holding another value: written only with --overwrite-kv. */
  readonly conflicts: KeyPlan[];
}

/** Compares the backup's entries with the cluster's (writes nothing). */
export async function planKvRestore(nc: NatsConnection, from: string, files: readonly KvBucketFile[]): Promise<KvRestorePlan> {
  const plan: KvRestorePlan = { missing: [], same: [], conflicts: [] };
  for (const f of files) {
    const known = KV_BUCKETS.find((b) => b.bucket === f.bucket);
    const { entries } = JSON.parse(await readFile(join(from, KV_DIR, f.name), 'utf8')) as { entries: Record<string, KvValue> };
    if (!known || Object.keys(entries).length === 0) continue;
    const kv = await known.open(nc);
    for (const [key, stored] of Object.entries(entries)) {
      const value = toBytes(stored);
      const current = await kv.get(key);
      if (!current || current.operation !== 'PUT') plan.missing.push({ bucket: f.bucket, key, value });
      else if (Buffer.from(current.value).equals(value)) plan.same.push({ bucket: f.bucket, key, value });
      else plan.conflicts.push({ bucket: f.bucket, key, value, revision: current.revision });
    }
  }
  return plan;
}

/**
 * Writes the missing keys (create: refused if someone made the key meanwhile) and, when `overwrite`,
 * the conflicting ones (update at the revision planned: refused if it changed meanwhile).
 */
export async function applyKvRestore(nc: NatsConnection, plan: KvRestorePlan, overwrite: boolean): Promise<KeyPlan[]> {
  const written: KeyPlan[] = [];
  const open = new Map<string, KV>();
  const kvOf = async (bucket: string) => open.get(bucket) ?? open.set(bucket, await KV_BUCKETS.find((b) => b.bucket === bucket)!.open(nc)).get(bucket)!;
  for (const k of plan.missing) {
    await (await kvOf(k.bucket)).create(k.key, k.value);
    written.push(k);
  }
  if (!overwrite) return written;
  for (const k of plan.conflicts) {
    await (await kvOf(k.bucket)).update(k.key, k.value, k.revision!);
    written.push(k);
  }
  return written;
}
