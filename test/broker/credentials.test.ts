// ensureSimulatorCredentials / pruneSimulatorCredentials (npm start) and the credential CLI's operations on a temporary folder:
// hashes only, passwords reused only while they verify, revoked gateways left revoked, audit lines.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { addCredential, listCredentials, revokeCredential, rotateCredential } from '../../broker/credential-admin.ts';
import { ensureSimulatorCredentials, pruneSimulatorCredentials } from '../../broker/ensure-credentials.ts';
import { createCredentialStore, setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { createAuditLog } from '../../server/audit-log.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function folder() {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-cred-'));
  dirs.push(dir);
  return { creds: join(dir, 'gateways.json'), sim: join(dir, 'sim-credentials.json'), audit: createAuditLog(join(dir, 'audit.jsonl')) };
}

it('creates the simulated gateways\' missing credentials, reuses verifying ones, leaves revoked ones revoked', async () => {
  const f = folder();
  const first = await ensureSimulatorCredentials(f.creds, ['gw-a', 'gw-b'], { audit: f.audit });
  expect(Object.keys(first.passwords).sort()).toEqual(['gw-a', 'gw-b']);
  expect(statSync(f.sim).mode & 0o777).toBe(0o600);
  expect(readFileSync(f.creds, 'utf8')).not.toContain(first.passwords['gw-a']!); // hashes only
  const store = createCredentialStore(f.creds);
  expect(await store.verify('gw-a', Buffer.from(first.passwords['gw-a']!))).toMatchObject({ id: 'gw-a', role: 'gateway' });

  await revokeCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, 'gw-b');
  const second = await ensureSimulatorCredentials(f.creds, ['gw-a', 'gw-b'], { audit: f.audit });
  expect(second.passwords).toEqual({ 'gw-a': first.passwords['gw-a'] }); // still verifies: kept; revoked: not resurrected
  expect(second.leftOut).toEqual([{ gatewayId: 'gw-b', reason: 'revoked' }]);
  expect(JSON.parse(readFileSync(f.sim, 'utf8'))).toEqual(second.passwords);
  expect(listCredentials(f.creds).map((c) => `${c.id}:${c.revokedAt ? 'revoked' : 'live'}`)).toEqual(['gw-a:live', 'gw-b:revoked']);
});

it('never touches a credential an operator issued (add or rotate), and writes no plain password of it', async () => {
  const f = folder();
  const admin = { credentialsPath: f.creds, audit: f.audit, actor: 'operator' };
  const added = await addCredential(admin, 'gw-real');
  await ensureSimulatorCredentials(f.creds, ['gw-sim', 'gw-rotated'], { audit: f.audit });
  const rotated = await rotateCredential(admin, 'gw-rotated'); // the simulator's, now the operator's
  const hashesBefore = JSON.parse(readFileSync(f.creds, 'utf8')).gateways;

  const run = await ensureSimulatorCredentials(f.creds, ['gw-real', 'gw-sim', 'gw-rotated'], { audit: f.audit });
  expect(Object.keys(run.passwords)).toEqual(['gw-sim']);
  expect(run.leftOut).toEqual([
    { gatewayId: 'gw-real', reason: 'operator_issued' },
    { gatewayId: 'gw-rotated', reason: 'operator_issued' },
  ]);
  const after = JSON.parse(readFileSync(f.creds, 'utf8')).gateways;
  expect(after['gw-real']).toEqual(hashesBefore['gw-real']);
  expect(after['gw-rotated']).toEqual(hashesBefore['gw-rotated']);
  const store = createCredentialStore(f.creds);
  expect(await store.verify('gw-real', Buffer.from(added))).toBeDefined(); // the device keeps working
  expect(await store.verify('gw-rotated', Buffer.from(rotated))).toBeDefined();
  const simFile = readFileSync(f.sim, 'utf8');
  expect(simFile).not.toContain(added);
  expect(simFile).not.toContain(rotated);
  expect((await f.audit.read()).filter((e) => e.actor === 'system:start').map((e) => `${e.action} ${e.subject}`)).toEqual([
    'credential.add gw-sim',
    'credential.add gw-rotated',
  ]);
});

it('re-issues only its own credential when its plain password was lost; adopts a verifying one from before the mark', async () => {
  const f = folder();
  await ensureSimulatorCredentials(f.creds, ['gw-sim'], { audit: f.audit });
  rmSync(f.sim);
  const again = await ensureSimulatorCredentials(f.creds, ['gw-sim'], { audit: f.audit });
  expect(await createCredentialStore(f.creds).verify('gw-sim', Buffer.from(again.passwords['gw-sim']!))).toBeDefined();

  // A DATA_DIR written before the mark: the credential unmarked, its password in the simulator file.
  const legacy = await setGatewayPassword(f.creds, 'gw-old');
  writeFileSync(f.sim, JSON.stringify({ ...again.passwords, 'gw-old': legacy }));
  const adopted = await ensureSimulatorCredentials(f.creds, ['gw-sim', 'gw-old'], { audit: f.audit });
  expect(adopted.passwords['gw-old']).toBe(legacy);
  expect(JSON.parse(readFileSync(f.creds, 'utf8')).gateways['gw-old'].issuedBy).toBe('simulator');
});

it('with the simulator off, keeps in the simulator file only the simulator\'s own verifying passwords', async () => {
  const f = folder();
  const sim = await ensureSimulatorCredentials(f.creds, ['gw-sim'], { audit: f.audit });
  // An old simulator file that held the whole fleet's passwords, the real gateway's among them.
  const real = await setGatewayPassword(f.creds, 'gw-real');
  writeFileSync(f.sim, JSON.stringify({ ...sim.passwords, 'gw-real': real, 'gw-gone': 'x' }));
  const before = readFileSync(f.creds, 'utf8');
  await pruneSimulatorCredentials(f.creds, f.sim);
  expect(JSON.parse(readFileSync(f.sim, 'utf8'))).toEqual(sim.passwords);
  expect(readFileSync(f.creds, 'utf8')).toBe(before); // nothing created or changed
  await revokeCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, 'gw-sim');
  await pruneSimulatorCredentials(f.creds, f.sim);
  expect(existsSync(f.sim)).toBe(false); // nothing left to keep
});

it('refuses ids that could collide with consumer client ids or wire names', async () => {
  const f = folder();
  await expect(addCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, 'gw:a')).rejects.toMatchObject({ code: 'bad_id' });
  await expect(addCredential({ credentialsPath: f.creds, audit: f.audit, actor: 't' }, '__proto__')).rejects.toMatchObject({ code: 'bad_id' });
});
