// ensureGatewayCredentials (npm start) and the credential CLI's operations on a temporary folder:
// hashes only, passwords reused only while they verify, revoked gateways left revoked, audit lines.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { addCredential, listCredentials, revokeCredential } from '../../broker/credential-admin.ts';
import { ensureGatewayCredentials } from '../../broker/ensure-credentials.ts';
import { createCredentialStore } from '../../broker/gateway-credentials.ts';
import { createAuditLog } from '../../server/audit-log.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function folder() {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-cred-'));
  dirs.push(dir);
  return { creds: join(dir, 'gateways.json'), sim: join(dir, 'sim-credentials.json'), audit: createAuditLog(join(dir, 'audit.jsonl')) };
}

it('creates missing credentials, reuses verifying passwords, re-issues unknown ones, leaves revoked ones revoked', async () => {
  const f = folder();
  const first = await ensureGatewayCredentials(f.creds, ['gw-a', 'gw-b'], { audit: f.audit });
  expect(Object.keys(first).sort()).toEqual(['gw-a', 'gw-b']);
  expect(statSync(f.sim).mode & 0o777).toBe(0o600);
  expect(readFileSync(f.creds, 'utf8')).not.toContain(first['gw-a']!); // hashes only
  const store = createCredentialStore(f.creds);
  expect(await store.verify('gw-a', Buffer.from(first['gw-a']!))).toMatchObject({ id: 'gw-a', role: 'gateway' });

  await revokeCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, 'gw-b');
  await addCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, 'gw-c'); // password never reaches the sim file
  const second = await ensureGatewayCredentials(f.creds, ['gw-a', 'gw-b', 'gw-c'], { audit: f.audit });
  expect(second['gw-a']).toBe(first['gw-a']); // still verifies: kept
  expect(second['gw-b']).toBeUndefined(); // revoked: not resurrected
  expect(await store.verify('gw-c', Buffer.from(second['gw-c']!))).toBeDefined(); // re-issued
  expect(JSON.parse(readFileSync(f.sim, 'utf8'))).toEqual(second);
  expect(listCredentials(f.creds).map((c) => `${c.id}:${c.revokedAt ? 'revoked' : 'live'}`)).toEqual(['gw-a:live', 'gw-b:revoked', 'gw-c:live']);
  expect((await f.audit.read()).map((e) => `${e.actor} ${e.action} ${e.subject}`)).toEqual([
    'system:start credential.add gw-a',
    'system:start credential.add gw-b',
    't credential.revoke gw-b',
    't credential.add gw-c',
    'system:start credential.rotate gw-c',
  ]);
});

it('refuses ids that could collide with consumer client ids or wire names', async () => {
  const f = folder();
  await expect(addCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, 'gw:a')).rejects.toMatchObject({ code: 'bad_id' });
  await expect(addCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, '__proto__')).rejects.toMatchObject({ code: 'bad_id' });
});
