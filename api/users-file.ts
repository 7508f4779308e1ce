// The officer and operator accounts: their schema (one entry per user, the same in DATA_DIR/users.json
// and in the cluster's KV bucket, api/kv-users.ts), and every change validated before it is stored:
// in the file under its lock (the users CLI and tests write it; the server only reads it, through
// server/last-good-file.ts), or through any other UsersUpdater.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { hashPassword } from '../contracts/password-hash.ts';
import { withFileLock } from '../server/file-lock.ts';

export const ROLES = ['officer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Lower-case letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 64. */
export const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** One account: what users.json holds under the user's name, and what its KV key holds. */
export const UserEntrySchema = z.object({
  role: z.enum(ROLES),
  /** `scrypt$N$r$p$saltB64$hashB64` */
  hash: z.string().startsWith('scrypt$'),
  disabled: z.boolean().optional(),
});
export type UserEntry = z.infer<typeof UserEntrySchema>;

export const UsersFileSchema = z.object({
  version: z.literal(1),
  users: z.record(z.string().regex(USER_NAME), UserEntrySchema),
});
export type UsersFile = z.infer<typeof UsersFileSchema>;

/**
 * Runs `change` on the current accounts and stores the result once it validates (the file under
 * its lock, or the KV bucket with compare-and-set); throws UsersFileError when it does not.
 */
export type UsersUpdater = <T>(change: (file: UsersFile) => T | Promise<T>) => Promise<T>;

/** A change the users file would refuse (a bad name, an unknown user): nothing was written. */
export class UsersFileError extends Error {
  override readonly name = 'UsersFileError';
}

/** Parses the file's text; throws with every problem listed (path: message). */
export function parseUsersFile(text: string): UsersFile {
  const parsed = UsersFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new UsersFileError(parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; '));
  return parsed.data;
}

export function checkUserName(user: string): void {
  if (!USER_NAME.test(user)) {
    const hint = USER_NAME.test(user.toLowerCase()) ? ` (try "${user.toLowerCase()}")` : '';
    throw new UsersFileError(`"${user}" is not a valid user name: lower-case letters, digits, ".", "_" or "-", at most 64 characters${hint}`);
  }
}

/** Every problem of a changed accounts value, for a UsersFileError (`where` names the store). */
export function checkUsers(file: UsersFile, where: string): UsersFile {
  const checked = UsersFileSchema.safeParse(file);
  if (!checked.success) throw new UsersFileError(`refusing to write ${where}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return checked.data;
}

/** Runs `change` on the file under its lock; the result is validated before it replaces the file (atomic rename, 0600). */
export async function updateUsersFile<T>(usersPath: string, change: (file: UsersFile) => T | Promise<T>): Promise<T> {
  mkdirSync(dirname(usersPath), { recursive: true });
  return withFileLock(usersPath, async () => {
    const file: UsersFile = existsSync(usersPath) ? parseUsersFile(readFileSync(usersPath, 'utf8')) : { version: 1, users: {} };
    const result = await change(file);
    const checked = checkUsers(file, usersPath);
    const tmp = `${usersPath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, usersPath);
    return result;
  });
}

/** The updater of the accounts file at `usersPath`. */
export const usersFileUpdater =
  (usersPath: string): UsersUpdater =>
  (change) =>
    updateUsersFile(usersPath, change);

/** Adds or replaces a user (a new password and role) in the file at `usersPath`, or through an updater. */
export async function setUser(target: string | UsersUpdater, user: string, role: Role, password: string): Promise<void> {
  checkUserName(user);
  const update = typeof target === 'string' ? usersFileUpdater(target) : target;
  const hash = await hashPassword(password); // outside the lock: scrypt takes a while
  await update((file) => {
    file.users[user] = { role, hash };
  });
}

/** Refuses the user's logins and tokens from now on. */
export async function disableUser(target: string | UsersUpdater, user: string): Promise<void> {
  const update = typeof target === 'string' ? usersFileUpdater(target) : target;
  await update((file) => {
    const entry = Object.hasOwn(file.users, user) ? file.users[user] : undefined;
    if (!entry) throw new UsersFileError(`no user ${user}`);
    file.users[user] = { ...entry, disabled: true };
  });
}
