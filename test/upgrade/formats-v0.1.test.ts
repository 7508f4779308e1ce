// Upgrades: this version opens the DATA_DIR files quantrac 0.1 wrote (test/fixtures/formats/v0.1,
// made by 0.1's own modules): alert snapshot + journal, gateway credentials, API users, token
// secret, audit trail, and the spool with its checkpoint. Files are copied first: opening may
// rewrite them (a snapshot, a cut torn tail).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuth, loadOrCreateSecret } from '../../api/auth.ts';
import { createCredentialStore } from '../../broker/gateway-credentials.ts';
import type { Alert } from '../../contracts/alerts.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { createAlertEngine } from '../../ingest/alerts/engine.ts';
import { AlertStoreError } from '../../ingest/alerts/errors.ts';
import { loadRules } from '../../ingest/alerts/rules.ts';
import { ALERT_STORE_FORMAT, createAlertStore } from '../../ingest/alerts/store.ts';
import { Spool } from '../../ingest/sink/spool.ts';
import { createAuditLog } from '../../server/audit-log.ts';

const FIXTURE = new URL('../fixtures/formats/v0.1/', import.meta.url).pathname;
const passwords = JSON.parse(readFileSync(join(FIXTURE, 'passwords.json'), 'utf8')) as { gateways: Record<string, string>; users: Record<string, string> };
let data: string;
beforeEach(() => {
  data = mkdtempSync(join(tmpdir(), 'quantrac-v01-'));
  cpSync(join(FIXTURE, 'data'), data, { recursive: true });
});
afterEach(() => rmSync(data, { recursive: true, force: true }));

const view = (a: Alert) => [a.id, a.state, a.level.key, a.acknowledged?.by ?? null];

describe('quantrac 0.1 files', () => {
  it('alert state: the snapshot and the journal after it give the alerts 0.1 recovered, and are rewritten versioned', () => {
    const expected = (JSON.parse(readFileSync(join(FIXTURE, 'alerts-expected.json'), 'utf8')) as Alert[]).map(view).sort();
    const { alerts } = createAlertStore(join(data, 'alerts')).load();
    expect(alerts.map(view).sort()).toEqual(expected);
    expect(expected).toContainEqual(['flood-longbien~flood-river-level~1795997400000', 'active', 'III', null]); // escalated after its acknowledgement
    // An engine on the old files carries on, and its next snapshot carries the format version.
    const engine = createAlertEngine({ registry: loadRegistry(), rules: loadRules(), store: createAlertStore(join(data, 'alerts')) });
    expect(engine.list().map(view).sort()).toEqual(expected);
    engine.close();
    const snap = JSON.parse(readFileSync(join(data, 'alerts', 'alerts-snapshot.json'), 'utf8')) as { version: number };
    expect(snap.version).toBe(ALERT_STORE_FORMAT);
    expect(createAlertStore(join(data, 'alerts')).load().alerts.map(view).sort()).toEqual(expected);
  });

  it('alert state from a newer quantrac is refused, not misread', () => {
    const path = join(data, 'alerts', 'alerts-snapshot.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), version: ALERT_STORE_FORMAT + 1 }));
    expect(() => createAlertStore(join(data, 'alerts')).load()).toThrow(AlertStoreError);
  });

  it('gateway credentials: live ones verify with their passwords, the revoked one does not, roles kept', async () => {
    const store = createCredentialStore(join(data, 'gateways.json'));
    const ok = await store.verify('gw-air-01', Buffer.from(passwords.gateways['gw-air-01']!));
    expect(ok?.role).toBe('gateway');
    expect((await store.verify('city-dashboard', Buffer.from(passwords.gateways['city-dashboard']!)))?.role).toBe('consumer');
    expect(await store.verify('gw-old', Buffer.from('fixture-revoked-pass'))).toBeUndefined();
    expect(await store.verify('gw-air-01', Buffer.from('wrong'))).toBeUndefined();
  });

  it('API users and token secret: the accounts log in, tokens signed with the old secret verify', async () => {
    const secret = loadOrCreateSecret(undefined, join(data, 'api-token-secret'));
    expect(secret.length).toBe(32);
    expect(readFileSync(join(data, 'api-token-secret'), 'utf8')).toBe(readFileSync(join(FIXTURE, 'data', 'api-token-secret'), 'utf8'));
    const auth = createAuth({ usersPath: join(data, 'users.json'), secret, tokenTtlS: 3600 });
    const officer = await auth.login('officer.lan', passwords.users['officer.lan']!);
    expect(officer?.role).toBe('officer');
    expect(auth.verifyToken(officer!.token)?.user).toBe('officer.lan');
    expect((await auth.login('operator.minh', passwords.users['operator.minh']!))?.role).toBe('operator');
  });

  it('audit trail: every event reads back', async () => {
    const events = await createAuditLog(join(data, 'audit.jsonl')).read();
    expect(events.map((e) => e.action)).toEqual(['gateway.add', 'gateway.revoke', 'alert.rules.load', 'alert.acknowledge']);
  });

  it('spool: resumes at the checkpoint and yields exactly the points 0.1 had not delivered', async () => {
    const spool = await Spool.open({ dir: join(data, 'spool'), segmentBytes: 2048, maxBytes: 1 << 30, fsync: false });
    try {
      const expected = readFileSync(join(FIXTURE, 'spool-undrained.txt'), 'utf8').trim().split('\n');
      const got: string[] = [];
      let pos = spool.startPosition();
      for (;;) {
        const r = await spool.read(pos, 1000, 1 << 20);
        if (r.records.length === 0) break;
        got.push(...r.records);
        pos = r.next;
      }
      expect(got).toEqual(expected);
    } finally {
      await spool.close();
    }
  });
});
