// The users CLI as an operator runs it: an added officer logs in to the running server at once,
// a disabled one is refused, and both changes are in the audit trail; edits wait for the users.json
// lock another process holds (as npm run gateways does for gateways.json).
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
let t: TestQuantrac;
beforeAll(async () => {
  t = await startTestQuantrac();
});
afterAll(async () => t?.stop());

const cli = (...args: string[]) => run(process.execPath, [join(root, 'ops/users.ts'), ...args], { cwd: root, env: { ...process.env, DATA_DIR: t.dataDir } });
const login = (user: string, password: string) =>
  fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });

describe('npm run users', () => {
  it('adds an officer who can log in, disables them, and records both', async () => {
    const { stdout } = await cli('add', 'thu', 'officer');
    const password = stdout.trim();
    expect(password.length).toBeGreaterThanOrEqual(16);
    const ok = await login('thu', password);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { role: string }).role).toBe('officer');
    await cli('disable', 'thu');
    expect((await login('thu', password)).status).toBe(401);
    const audit = readFileSync(join(t.dataDir, 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"action":"user.add","subject":"thu"/);
    expect(audit).toMatch(/"action":"user.disable","subject":"thu"/);
    await expect(cli('add', 'thu', 'mayor')).rejects.toMatchObject({ code: 2 });
  });

  it('refuses a name the users file would refuse, writing nothing, so every account keeps working', async () => {
    const { stdout } = await cli('add', 'mai', 'operator');
    const password = stdout.trim();
    const before = readFileSync(join(t.dataDir, 'users.json'), 'utf8');
    const refused = cli('add', 'Thu', 'officer');
    await expect(refused).rejects.toMatchObject({ code: 2 });
    await expect(refused).rejects.toMatchObject({ stderr: expect.stringMatching(/"Thu" is not a valid user name.*try "thu"/) });
    expect(readFileSync(join(t.dataDir, 'users.json'), 'utf8')).toBe(before);
    expect((await login('mai', password)).status).toBe(200);
    await expect(cli('disable', 'nobody')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/no user nobody/) });
  });

  it('waits while another process holds the users.json lock, then edits on top of that process\'s change', async () => {
    const path = join(t.dataDir, 'users.json');
    // How long an add takes here and now, with nobody holding the lock (process start and scrypt).
    const startedMs = Date.now();
    await cli('add', 'early', 'officer');
    const unlockedMs = Date.now() - startedMs;

    writeFileSync(`${path}.lock`, ''); // another editor (npm run users, the server) holds the lock
    let finished = false;
    const adding = cli('add', 'late', 'officer').finally(() => (finished = true));
    // The holder's own edit, written under its lock.
    const file = JSON.parse(readFileSync(path, 'utf8')) as { users: Record<string, unknown> };
    file.users.holder = file.users.early;
    writeFileSync(path, JSON.stringify(file));
    // Not waiting for an event but for its absence: twice as long as an add took unlocked, the add
    // must still be waiting for the lock (without the lock it would have finished and written).
    await new Promise((r) => setTimeout(r, 2 * unlockedMs + 1000));
    expect(finished).toBe(false);
    rmSync(`${path}.lock`);
    await adding;
    const { stdout } = await cli('list');
    for (const n of ['early', 'holder', 'late']) expect(stdout).toMatch(new RegExp(`^${n}\tofficer$`, 'm'));
  });

  it('serialises concurrent edits under the file lock: no add is lost', async () => {
    const names = ['u1', 'u2', 'u3', 'u4'];
    await Promise.all(names.map((n) => cli('add', n, 'officer')));
    const { stdout } = await cli('list');
    for (const n of names) expect(stdout).toMatch(new RegExp(`^${n}\tofficer$`, 'm'));
  });
});
