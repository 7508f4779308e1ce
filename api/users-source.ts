// Where createAuth (api/auth.ts) finds the accounts: DATA_DIR/users.json (one process, the default),
// or the cluster's replicated KV bucket (api/kv-users.ts). Either answers from memory, so a token
// check costs no I/O, and follows changes by itself (a disabled user is refused at once).
import { createLastGoodFile } from '../server/last-good-file.ts';
import { parseUsersFile, type UserEntry, type UsersFile } from './users-file.ts';

export interface UsersSource {
  /** The user's current entry, or undefined when there is no such (usable) user. */
  get(user: string): UserEntry | undefined;
  /** Why some accounts are not the ones stored (a file that does not parse, a bad KV entry), or undefined (for /readyz). */
  problem(): string | undefined;
}

/**
 * DATA_DIR/users.json, re-read when it changes, so adding or disabling a user needs no restart; a
 * hand-edited file that does not parse leaves the last good one in force (`onBadRead` once per version).
 */
export function createFileUsersSource(usersPath: string, onBadRead?: (problem: string) => void): UsersSource {
  const file = createLastGoodFile<UsersFile>({ path: usersPath, parse: parseUsersFile, absent: { version: 1, users: {} }, onBadRead });
  return {
    get(user) {
      const all = file.get().users;
      return Object.hasOwn(all, user) ? all[user] : undefined;
    },
    problem: () => file.problem(),
  };
}
