// Officer accounts in cluster mode (issue 12): two API role processes, each with its own DATA_DIR and
// no API_TOKEN_SECRET, on a real 3-node nats-server cluster. An officer added with `npm run users`
// (NATS_URL set: the quantrac_users bucket) logs in on API #1 and its token works on API #2; after
// `npm run users -- disable` both refuse that token within a second; a bad entry written into the
// bucket by hand refuses that user only, without stopping either process. An account of a users.json
// from one-process days reaches both with `npm run users -- import`. Officers' validation marks
// (quantrac_validations) made through one API are listed and applied by the other; two officers
// undoing one mark at once through different APIs: one succeeds, the other gets 404.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openUsersBucket } from '../../api/kv-users.ts';
import { openValidationsBucket } from '../../api/kv-validation-store.ts';
import { setUser } from '../../api/users-file.ts';
import { eventually, influxUrl, uniqueDatabase } from '../support/influx.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';
import { startServerProcess, stopProcesses, type ServerProcess } from '../support/server-process.ts';

const USERS_CLI = fileURLToPath(new URL('../../ops/users.ts', import.meta.url));
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

let cluster: TestNatsCluster;
let nc: NatsConnection;
const dirs: string[] = [];
const apis: ServerProcess[] = [];

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  nc = await connect({ servers: [...cluster.urls] });
  const db = uniqueDatabase('accounts');
  // Each API through a different nats-server, with a DATA_DIR of its own: nothing shared but the cluster.
  for (const url of [cluster.urls[0]!, cluster.urls[2]!]) {
    const dir = mkdtempSync(join(tmpdir(), 'quantrac-cluster-accounts-'));
    dirs.push(dir);
    apis.push(
      await startServerProcess({
        QUANTRAC_ROLE: 'api',
        NATS_URL: url,
        INFLUX_URL: influxUrl(),
        INFLUX_DATABASE: db,
        DATA_DIR: dir,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        METRICS_TOKEN,
        LOG_LEVEL: 'warn',
      }),
    );
  }
}, 90_000);

afterAll(async () => {
  await stopProcesses(apis);
  await nc?.close();
  await cluster?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function usersCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [USERS_CLI, ...args], {
    env: { ...process.env, DATA_DIR: dirs[0]!, NATS_URL: cluster.urls[1]!, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const login = (api: ServerProcess, user: string, password: string) =>
  fetch(`${api.http}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
const me = async (api: ServerProcess, token: string): Promise<number> => (await fetch(`${api.http}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status;
const readyz = async (api: ServerProcess) =>
  (await (await fetch(`${api.http}/readyz`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).json()) as { checks: Record<string, string> };

async function tokenOf(api: ServerProcess, user: string, password: string): Promise<string> {
  const res = await login(api, user, password);
  expect(res.status, `${user} logs in`).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

it('an officer added with npm run users logs in on API #1, its token works on API #2; disabled, both refuse it within a second', async () => {
  const added = usersCli('add', 'lan', 'officer');
  expect(added.status, added.stderr).toBe(0);
  const password = added.stdout.trim();
  const token = await eventually(async () => ((await login(apis[0]!, 'lan', password)).status === 200 ? tokenOf(apis[0]!, 'lan', password) : undefined), 5000, 'lan logs in on API #1');
  expect(await me(apis[1]!, token)).toBe(200);
  expect(await me(apis[0]!, token)).toBe(200);
  expect(usersCli('list').stdout).toMatch(/^lan\tofficer$/m);
  expect(readFileSync(join(dirs[0]!, 'audit.jsonl'), 'utf8')).toMatch(/"action":"user.add","subject":"lan"/);

  const disabled = usersCli('disable', 'lan');
  expect(disabled.status, disabled.stderr).toBe(0);
  const disabledAt = Date.now();
  const refusedAt = await Promise.all(
    apis.map((api) => eventually(async () => ((await me(api, token)) === 401 ? Date.now() : undefined), 5000, 'the token refused')),
  );
  expect(Math.max(...refusedAt) - disabledAt).toBeLessThan(1000);
  for (const api of apis) expect((await login(api, 'lan', password)).status).toBe(401);
  expect(usersCli('list').stdout).toMatch(/^lan\tofficer\tdisabled$/m);
  expect(usersCli('disable', 'nobody').status).toBe(2);
});

it('a bad entry written into the bucket refuses that user only; both processes keep serving and say why in /readyz', async () => {
  const added = usersCli('add', 'minh', 'operator');
  const other = usersCli('add', 'hoa', 'officer');
  expect([added.status, other.status]).toEqual([0, 0]);
  const token = await eventually(async () => ((await login(apis[1]!, 'minh', added.stdout.trim())).status === 200 ? tokenOf(apis[1]!, 'minh', added.stdout.trim()) : undefined), 5000, 'minh logs in');

  const kv = await openUsersBucket(nc);
  await kv.put('minh', JSON.stringify({ role: 'admin', hash: 'plain-text' }));
  for (const api of apis) {
    await eventually(async () => ((await me(api, token)) === 401 ? true : undefined), 2000, 'minh refused');
    expect((await login(api, 'minh', added.stdout.trim())).status).toBe(401);
    expect((await login(api, 'hoa', other.stdout.trim())).status).toBe(200);
    expect((await readyz(api)).checks.users).toMatch(/quantrac_users.*minh \(role/);
    expect(api.child.exitCode).toBeNull();
  }
  const listed = usersCli('list');
  expect(listed.stdout).not.toMatch(/^minh/m);
  expect(listed.stderr).toMatch(/minh: entry in quantrac_users not usable/);

  // Replaced with add, the account works again and the problem is gone.
  const again = usersCli('add', 'minh', 'operator');
  await eventually(async () => ((await login(apis[0]!, 'minh', again.stdout.trim())).status === 200 ? true : undefined), 2000, 'minh back');
  await eventually(async () => ((await readyz(apis[1]!)).checks.users === 'ok' ? true : undefined), 2000, 'users ok');
});

it('npm run users -- import copies a users.json account the bucket lacks, and leaves one it has alone', async () => {
  const usersPath = join(dirs[0]!, 'users.json');
  await setUser(usersPath, 'thu', 'officer', 'mat-khau-tu-tep');
  await setUser(usersPath, 'hoa', 'operator', 'mat-khau-tu-tep');
  const imported = usersCli('import');
  expect(imported.status, imported.stderr).toBe(0);
  expect(imported.stderr).toMatch(/imported 1 account\(s\) into quantrac_users: thu; 1 already there/);
  await eventually(async () => ((await login(apis[1]!, 'thu', 'mat-khau-tu-tep')).status === 200 ? true : undefined), 2000, 'thu logs in');
  expect((await login(apis[1]!, 'hoa', 'mat-khau-tu-tep')).status).toBe(401); // the bucket's hoa kept its own password
  expect(usersCli('list').stdout).toMatch(/^hoa\tofficer$/m);
});

it('a validation mark made through API #1 is listed and applied by API #2 within a second; undone at once through both, exactly one undo succeeds', async () => {
  const added = usersCli('add', 'quan', 'officer');
  expect(added.status, added.stderr).toBe(0);
  const token = await eventually(async () => ((await login(apis[0]!, 'quan', added.stdout.trim())).status === 200 ? tokenOf(apis[0]!, 'quan', added.stdout.trim()) : undefined), 5000, 'quan logs in');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const list = async (api: ServerProcess) =>
    (await (await fetch(`${api.http}/api/stations/air-001/validations?includeRevoked=true`, { headers })).json()) as { invalid: Record<string, unknown[]>; marks: { id: string; revokedAt?: string }[] };

  const from = '2026-12-01T00:00:00.000Z';
  const to = '2026-12-01T06:00:00.000Z';
  const made = await fetch(`${apis[0]!.http}/api/stations/air-001/validations`, { method: 'POST', headers, body: JSON.stringify({ parameter: 'pm25', from, to, status: 'invalid', reason: 'inlet blocked' }) });
  expect(made.status).toBe(201);
  const mark = (await made.json()) as { id: string };
  expect((await list(apis[0]!)).marks.map((m) => m.id)).toContain(mark.id); // its own change, at once
  const madeAt = Date.now();
  const seen = await eventually(async () => {
    const l = await list(apis[1]!);
    return l.marks.some((m) => m.id === mark.id) ? l : undefined;
  }, 5000, 'API #2 lists the mark');
  expect(Date.now() - madeAt).toBeLessThan(1000);
  expect(seen.invalid.pm25).toEqual([{ from, to }]);

  const undo = (api: ServerProcess) => fetch(`${api.http}/api/stations/air-001/validations/${mark.id}`, { method: 'DELETE', headers, body: JSON.stringify({ reason: 'inlet fine' }) });
  const statuses = (await Promise.all(apis.map(undo))).map((r) => r.status).sort();
  expect(statuses).toEqual([200, 404]);
  for (const api of apis) {
    await eventually(async () => {
      const l = await list(api);
      return l.marks.find((m) => m.id === mark.id)?.revokedAt && !l.invalid.pm25 ? true : undefined;
    }, 2000, 'the undo seen');
  }
  // Each API audits its own changes in its DATA_DIR: one undo in all.
  const revokes = () => dirs.map((d) => (existsSync(join(d, 'audit.jsonl')) ? readFileSync(join(d, 'audit.jsonl'), 'utf8') : '').match(/"action":"validation.revoke"/g)?.length ?? 0).reduce((a, b) => a + b);
  await eventually(async () => (revokes() > 0 ? true : undefined), 2000, 'the undo audited');
  expect(revokes()).toBe(1);

  // A mark written into the bucket by hand that is not one is left out; both processes go on.
  const kv = await openValidationsBucket(nc);
  await kv.put('not-a-mark', JSON.stringify({ station: 'air-001', parameter: 'pm25' }));
  // A mark made after it: once both list that one, both have had the bad entry (the watch is in order).
  const after = await fetch(`${apis[1]!.http}/api/stations/air-001/validations`, { method: 'POST', headers, body: JSON.stringify({ parameter: 'pm10', from, to, status: 'invalid', reason: 'after the bad entry' }) });
  expect(after.status).toBe(201);
  const afterId = ((await after.json()) as { id: string }).id;
  for (const api of apis) {
    const ids = await eventually(async () => {
      const l = (await list(api)).marks.map((m) => m.id);
      return l.includes(afterId) ? l : undefined;
    }, 2000, 'the later mark listed');
    expect(ids.sort()).toEqual([mark.id, afterId].sort());
    expect(api.child.exitCode).toBeNull();
  }
});
