// The cluster's KV buckets in `npm run backup`/`npm run restore` (ops/backup-kv.ts) against real
// 3-node nats-server clusters: a gateway credential, accounts, a validation mark and the API token
// secret backed up from one cluster come back byte for byte into a fresh one (a deleted key stays
// deleted), the restored gateway and officer log in; a key holding another value refuses the
// restore, writing nothing, until --overwrite-kv; a damaged bucket file fails its checksum.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, expect, it } from 'vitest';
import { createAuth } from '../../api/auth.ts';
import { API_SECRETS_BUCKET, loadOrCreateKvSecret, openApiSecretsBucket } from '../../api/kv-token-secret.ts';
import { createKvUsersSource, kvUsersUpdater, openUsersBucket, USERS_BUCKET } from '../../api/kv-users.ts';
import { createKvValidationStore, openValidationsBucket, VALIDATIONS_BUCKET } from '../../api/kv-validation-store.ts';
import { setUser } from '../../api/users-file.ts';
import { createKvCredentialStore, CREDENTIALS_BUCKET, kvCredentialUpdater, openCredentialsBucket } from '../../broker/kv-credentials.ts';
import { hashPassword } from '../../contracts/password-hash.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
const closes: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closes.reverse()) await c().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// Named here, not taken from ops/backup-kv.ts: a bucket dropped from its list must fail this test.
const BUCKETS = [
  { bucket: CREDENTIALS_BUCKET, open: openCredentialsBucket },
  { bucket: USERS_BUCKET, open: openUsersBucket },
  { bucket: VALIDATIONS_BUCKET, open: openValidationsBucket },
  { bucket: API_SECRETS_BUCKET, open: openApiSecretsBucket },
];

/** Every bucket's live entries, key → value bytes as base64. */
async function bucketContents(nc: NatsConnection): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const { bucket, open } of BUCKETS) {
    const kv = await open(nc);
    const entries: Record<string, string> = {};
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e?.operation === 'PUT') entries[key] = Buffer.from(e.value).toString('base64');
    }
    out[bucket] = entries;
  }
  return out;
}

const cli = (script: string, args: string[], env: Record<string, string>) =>
  run(process.execPath, [join(root, 'ops', script), ...args], { cwd: root, env: { ...process.env, ...env } }).catch((e: { code: number; stdout: string; stderr: string }) => e);

async function startCluster(): Promise<{ cluster: TestNatsCluster; nc: NatsConnection; url: string }> {
  const cluster = await startTestNatsCluster();
  const nc = await connect({ servers: [...cluster.urls] });
  closes.push(() => cluster.close(), () => nc.close());
  return { cluster, nc, url: cluster.urls.join(',') };
}

it('backs up the four KV buckets and restores them into a fresh cluster; a conflicting key is refused without --overwrite-kv', async () => {
  // --- cluster A with its shared state ---
  const a = await startCluster();
  const gateways = await openCredentialsBucket(a.nc);
  const hash = await hashPassword('gw-pass-air-01');
  await kvCredentialUpdater(gateways)((file) => void (file.gateways['gw-air-01'] = { hash, createdAt: new Date().toISOString() }));
  const users = await openUsersBucket(a.nc);
  await setUser(kvUsersUpdater(users), 'lan', 'officer', 'officer-pw-lan');
  await setUser(kvUsersUpdater(users), 'minh', 'operator', 'operator-pw-minh');
  await setUser(kvUsersUpdater(users), 'gone', 'operator', 'operator-pw-gone');
  await users.delete('gone'); // deleted: not a live entry, not in the backup
  const marks = await createKvValidationStore(await openValidationsBucket(a.nc));
  await marks.add({ station: 'air-001', parameter: 'pm25', fromMs: Date.now() - 3_600_000, toMs: Date.now(), status: 'invalid', reason: 'inlet blocked', by: 'lan' });
  await marks.close();
  const secretA = await loadOrCreateKvSecret(a.nc, undefined, { settleMs: 0 });
  const before = await bucketContents(a.nc);
  for (const { bucket } of BUCKETS) expect(Object.keys(before[bucket]!).length, bucket).toBeGreaterThan(0);
  expect(Object.keys(before[USERS_BUCKET]!).sort()).toEqual(['lan', 'minh']);

  const backupDir = join(tmp('quantrac-kvbackup-'), 'b');
  const b = await cli('backup.ts', ['--out', backupDir, '--no-influx'], { DATA_DIR: tmp('quantrac-kvdata-a-'), NATS_URL: a.url });
  expect(b.stderr).toBe('');
  expect(b.stdout).toContain(`KV ${CREDENTIALS_BUCKET} (1), ${USERS_BUCKET} (2), ${VALIDATIONS_BUCKET} (1), ${API_SECRETS_BUCKET} (1)`);
  const manifest = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')) as { version: number; kv: { bucket: string; sha256: string }[] };
  expect(manifest.kv.map((k) => k.bucket)).toEqual(BUCKETS.map((k) => k.bucket));

  // --- every server's disk lost: a fresh cluster B ---
  await a.nc.close();
  await a.cluster.close();
  const c = await startCluster();
  const dataB = join(tmp('quantrac-kvdata-b-'), 'd');
  const r = await cli('restore.ts', ['--from', backupDir, '--no-influx'], { DATA_DIR: dataB, NATS_URL: c.url });
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('restore: KV 5 key(s) written, 0 already held the backup\'s value');
  expect(await bucketContents(c.nc)).toEqual(before);
  // What a user relies on: the gateway connects, the officer logs in, a token of cluster A still verifies.
  const creds = await createKvCredentialStore(await openCredentialsBucket(c.nc));
  expect(await creds.verify('gw-air-01', Buffer.from('gw-pass-air-01'))).toMatchObject({ id: 'gw-air-01' });
  await creds.close();
  const source = await createKvUsersSource(await openUsersBucket(c.nc));
  const tokenA = createAuth({ users: source, secret: secretA, tokenTtlS: 600 });
  const authB = createAuth({ users: source, secret: await loadOrCreateKvSecret(c.nc, undefined, { settleMs: 0 }), tokenTtlS: 600 });
  const session = await authB.login('lan', 'officer-pw-lan');
  expect(session?.role).toBe('officer');
  expect(authB.verifyToken((await tokenA.login('minh', 'operator-pw-minh'))!.token)).toMatchObject({ user: 'minh', role: 'operator' });
  await source.close();

  // --- conflicts: minh got a new password on B since, and a mark was removed ---
  await setUser(kvUsersUpdater(await openUsersBucket(c.nc)), 'minh', 'operator', 'new-pw-minh');
  const markKey = Object.keys(before[VALIDATIONS_BUCKET]!)[0]!;
  await (await openValidationsBucket(c.nc)).delete(markKey);
  const changed = await bucketContents(c.nc);
  const refused = await cli('restore.ts', ['--from', backupDir, '--kv-only'], { DATA_DIR: dataB, NATS_URL: c.url });
  expect((refused as { code: number }).code).toBe(2);
  expect(refused.stderr).toContain(`${USERS_BUCKET} key minh holds another value than the backup's`);
  expect(refused.stderr).toContain('--overwrite-kv');
  expect(await bucketContents(c.nc)).toEqual(changed); // nothing written: not even the deleted mark

  const forced = await cli('restore.ts', ['--from', backupDir, '--kv-only', '--overwrite-kv'], { DATA_DIR: dataB, NATS_URL: c.url });
  expect(forced.stderr).toBe('');
  expect(forced.stdout).toContain(`KV ${USERS_BUCKET} key minh overwritten with the backup's value`);
  expect(forced.stdout).toContain('restore: KV 2 key(s) written, 3 already held the backup\'s value');
  expect(await bucketContents(c.nc)).toEqual(before);

  // A bucket file changed after the backup is caught by its checksum, as the DATA_DIR files are.
  const usersFile = join(backupDir, 'kv', `${USERS_BUCKET}.json`);
  writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('"minh"', '"mallory"'));
  const damaged = await cli('restore.ts', ['--from', backupDir, '--kv-only', '--overwrite-kv'], { DATA_DIR: dataB, NATS_URL: c.url });
  expect((damaged as { code: number }).code).toBe(1);
  expect(damaged.stderr).toContain(`kv/${USERS_BUCKET}.json does not match its checksum`);
  expect(await bucketContents(c.nc)).toEqual(before);
}, 90_000);
