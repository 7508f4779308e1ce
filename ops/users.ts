// `npm run users -- add|disable|list [user] [officer|operator]`: the API's officer and operator
// accounts in DATA_DIR/users.json (scrypt hashes only; a running server picks changes up at once).
// A new password is printed once on stdout. Changes go to DATA_DIR/audit.jsonl.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ROLES, setUser, UsersFileSchema, type Role } from '../api/auth.ts';
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
  const read = () => (existsSync(config.apiUsersPath) ? UsersFileSchema.parse(JSON.parse(readFileSync(config.apiUsersPath, 'utf8'))) : { version: 1 as const, users: {} });
  if (command === 'add' && user && ROLES.includes(role as Role)) {
    const password = randomBytes(15).toString('base64url');
    await setUser(config.apiUsersPath, user, role as Role, password);
    await audit.append({ actor, action: 'user.add', subject: user, detail: { role } });
    process.stdout.write(`${password}\n`);
    process.stderr.write(`added ${user} (${role}): the password above is shown once; log in with POST /api/auth/login\n`);
    return 0;
  }
  if (command === 'disable' && user) {
    const file = read();
    const entry = file.users[user];
    if (!entry) {
      process.stderr.write(`no user ${user}\n`);
      return 1;
    }
    file.users[user] = { ...entry, disabled: true };
    const tmp = `${config.apiUsersPath}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, config.apiUsersPath);
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
    process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
