// `npm run users -- add|disable|list [user] [officer|operator]`: the API's officer and operator
// accounts in DATA_DIR/users.json (scrypt hashes only; a running server picks changes up at once).
// A new password is printed once on stdout. Changes go to DATA_DIR/audit.jsonl.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { checkUserName, disableUser, parseUsersFile, ROLES, setUser, UsersFileError, type Role } from '../api/users-file.ts';
import { createAuditLog, currentOsUser } from '../server/audit-log.ts';
import { parseConfig } from '../server/config.ts';
import { ConfigError } from '../server/errors.ts';

const USAGE = `usage: npm run users -- <command> [user] [role]
  add <user> <officer|operator>  new account (or a new password and role for an existing one)
  disable <user>                 refuse its logins and its tokens from now on
  list                           users and roles (never passwords)`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, user, role] = argv;
  const config = parseConfig(process.env);
  const audit = createAuditLog(config.auditLogPath);
  const actor = currentOsUser();
  const read = () => (existsSync(config.apiUsersPath) ? parseUsersFile(readFileSync(config.apiUsersPath, 'utf8')) : { version: 1 as const, users: {} });
  if (command === 'add' && user && ROLES.includes(role as Role)) {
    checkUserName(user);
    const password = randomBytes(15).toString('base64url');
    await setUser(config.apiUsersPath, user, role as Role, password);
    await audit.append({ actor, action: 'user.add', subject: user, detail: { role } });
    process.stdout.write(`${password}\n`);
    process.stderr.write(`added ${user} (${role}): the password above is shown once; log in with POST /api/auth/login\n`);
    return 0;
  }
  if (command === 'disable' && user) {
    await disableUser(config.apiUsersPath, user);
    await audit.append({ actor, action: 'user.disable', subject: user });
    process.stderr.write(`disabled ${user}\n`);
    return 0;
  }
  if (command === 'list') {
    for (const [name, u] of Object.entries(read().users)) process.stdout.write(`${name}\t${u.role}${u.disabled ? '\tdisabled' : ''}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    // A refused name or an unknown user is the operator's input (2, like a usage error); else 1.
    process.exit(err instanceof UsersFileError || err instanceof ConfigError ? 2 : 1);
  },
);
