// Accounts in the cluster's KV bucket (api/kv-users.ts) against a real 3-node nats-server cluster:
// two API-side sources watching through different servers see an added user and a disabled one
// within a second (a token one issued stops verifying on both); a bad entry refuses only its user;
// concurrent admins lose no edit (compare-and-set); every process gets the same token secret.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuth, type Auth } from '../../api/auth.ts';
import { createKvUsersSource, kvUsersUpdater, openUsersBucket, readKvUsers, type KvUsersSource } from '../../api/kv-users.ts';
import { API_SECRETS_BUCKET, loadOrCreateKvSecret } from '../../api/kv-token-secret.ts';
import { disableUser, setUser } from '../../api/users-file.ts';
import { verifyPassword } from '../../contracts/password-hash.ts';
import { eventually } from '../support/influx.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';

let cluster: TestNatsCluster;
const ncs: NatsConnection[] = [];
let admin: KV;
const nodes: { source: KvUsersSource; auth: Auth; bad: string[] }[] = [];

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  for (const url of cluster.urls) ncs.push(await connect({ servers: url }));
  admin = await openUsersBucket(ncs[1]!);
  // Two API nodes, each through its own nats-server, sharing the secret from the bucket.
  for (const nc of [ncs[0]!, ncs[2]!]) {
    const bad: string[] = [];
    const source = await createKvUsersSource(await openUsersBucket(nc), { onBadEntry: (user) => bad.push(user) });
    nodes.push({ source, bad, auth: createAuth({ users: source, secret: await loadOrCreateKvSecret(nc, undefined), tokenTtlS: 600 }) });
  }
});

afterAll(async () => {
  for (const n of nodes) await n.source.close();
  for (const nc of ncs) await nc.close();
  await cluster?.close();
});

/** Polls every 20 ms for up to `ms`: how long `probe` took to hold, or undefined when it never did. */
async function within(ms: number, probe: () => boolean): Promise<number | undefined> {
  const startedMs = Date.now();
  while (Date.now() - startedMs <= ms) {
    if (probe()) return Date.now() - startedMs;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

it('a user added through one server logs in on one node; the token verifies on the other; disabled, both refuse it within a second', async () => {
  await setUser(kvUsersUpdater(admin), 'lan', 'officer', 'mat-khau-thu-nghiem');
  expect(await within(1000, () => nodes.every((n) => n.source.get('lan')?.role === 'officer'))).toBeDefined();
  const session = await nodes[0]!.auth.login('lan', 'mat-khau-thu-nghiem');
  expect(session?.role).toBe('officer');
  expect(await nodes[0]!.auth.login('lan', 'wrong')).toBeUndefined();
  expect(nodes[1]!.auth.verifyToken(session!.token)).toMatchObject({ user: 'lan', role: 'officer' });

  await disableUser(kvUsersUpdater(admin), 'lan');
  const tookMs = await within(1000, () => nodes.every((n) => n.auth.verifyToken(session!.token) === undefined));
  expect(tookMs, 'both nodes refuse the token').toBeDefined();
  expect(await nodes[1]!.auth.login('lan', 'mat-khau-thu-nghiem')).toBeUndefined();
});

it('a bad entry refuses only its user, is reported once per revision, and an add replaces it', async () => {
  await setUser(kvUsersUpdater(admin), 'minh', 'operator', 'mat-khau-thu-nghiem');
  await admin.put('minh', '{"role":"mayor","hash":"plain"}');
  await admin.put('broken', 'not json');
  expect(await within(1000, () => nodes.every((n) => n.source.get('minh') === undefined && n.bad.includes('broken')))).toBeDefined();
  for (const n of nodes) {
    expect(n.bad.filter((u) => u === 'minh')).toHaveLength(1);
    expect(n.auth.usersProblem()).toContain('broken (not JSON)');
    expect(n.auth.usersProblem()).toContain('minh (role');
  }
  expect(await nodes[0]!.auth.login('minh', 'mat-khau-thu-nghiem')).toBeUndefined();
  const { file, bad } = await readKvUsers(admin);
  expect([...bad.keys()].sort()).toEqual(['broken', 'minh']);
  expect(file.users.lan?.disabled).toBe(true); // the good ones are still read

  await setUser(kvUsersUpdater(admin), 'minh', 'operator', 'mat-khau-moi-thu-nghiem');
  await eventually(async () => (nodes.every((n) => n.source.get('minh')) ? true : undefined), 2000, 'minh replaced');
  expect(await nodes[1]!.auth.login('minh', 'mat-khau-moi-thu-nghiem')).toMatchObject({ role: 'operator' });
  expect(nodes[0]!.auth.usersProblem()).not.toContain('minh');
});

it('an edit that lost the race runs again on the winner\'s content: a disable does not undo a new password set meanwhile', async () => {
  const other = await openUsersBucket(ncs[2]!);
  await setUser(kvUsersUpdater(admin), 'hoa', 'officer', 'mat-khau-cu-thu-nghiem');
  let runs = 0;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  // The disable reads the bucket, then waits while another admin sets a new password.
  const disabling = kvUsersUpdater(admin)(async (file) => {
    runs++;
    if (runs === 1) await held;
    file.users.hoa = { ...file.users.hoa!, disabled: true };
  });
  await eventually(async () => (runs === 1 ? true : undefined), 2000, 'the disable has read the bucket');
  await setUser(kvUsersUpdater(other), 'hoa', 'officer', 'mat-khau-moi-thu-nghiem');
  release();
  await disabling;
  expect(runs).toBe(2);
  const hoa = (await readKvUsers(admin)).file.users.hoa!;
  expect(hoa.disabled).toBe(true);
  const node = nodes[0]!;
  await eventually(async () => (node.source.get('hoa')?.disabled ? true : undefined), 2000, 'the disable seen');
  // The new password is the stored one (a lost update would have put the old hash back).
  expect(await verifyPassword('mat-khau-moi-thu-nghiem', hoa.hash)).toBe(true);
});

it('every API process gets the same token secret: the first one created wins, API_TOKEN_SECRET overrides', async () => {
  const first = await loadOrCreateKvSecret(ncs[1]!, undefined);
  expect(first.length).toBe(32);
  expect(nodes[0]!.auth.verifyToken(nodes[1]!.auth.issueToken('lan', 'officer'))).toBeUndefined(); // lan is disabled…
  expect(nodes[1]!.auth.verifyToken(nodes[0]!.auth.issueToken('minh', 'operator'))).toMatchObject({ user: 'minh' }); // …minh is not
  // A fresh start: three processes race to create the secret; all end up with the winner's.
  await (await new Kvm(ncs[0]!).open(API_SECRETS_BUCKET)).purge('token-secret');
  const secrets = await Promise.all(ncs.map((nc) => loadOrCreateKvSecret(nc, undefined)));
  expect(secrets[0]!.equals(first)).toBe(false);
  for (const s of secrets) expect(s.equals(secrets[0]!)).toBe(true);
  expect((await loadOrCreateKvSecret(ncs[0]!, 'configured-secret')).toString('utf8')).toBe('configured-secret');
});
