// `npm run users -- add|disable|list|import [user] [officer|operator]`: the API's officer and operator
// accounts in DATA_DIR/users.json (scrypt hashes only; a running server picks changes up at once), or,
// with NATS_URL, in the cluster's KV bucket quantrac_users that every API process watches. A new
// password is printed once on stdout. Changes go to DATA_DIR/audit.jsonl.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { kvUsersUpdater, openUsersBucket, readKvUsers, USERS_BUCKET } from '../api/kv-users.ts';
import { checkUserName, disableUser, parseUsersFile, ROLES, setUser, usersFileUpdater, UsersFileError, type Role, type UsersFile, type UsersUpdater } from '../api/users-file.ts';
import { createAuditLog, currentOsUser } from '../server/audit-log.ts';
import { parseConfig } from '../server/config.ts';
import { ConfigError } from '../server/errors.ts';

const USAGE = `usage: npm run users -- <command> [user] [role]
  add <user> <officer|operator>  new account (or a new password and role for an existing one)
  disable <user>                 refuse its logins and its tokens from now on
  list                           users and roles (never passwords)
  import                         (cluster, with NATS_URL) copy the accounts of DATA_DIR/users.json
                                 that the bucket does not have yet`;

interface Store {
  readonly update: UsersUpdater;
  readonly read: () => Promise<UsersFile>;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, user, role] = argv;
  const config = parseConfig(process.env);
  const readFile = (): UsersFile => (existsSync(config.apiUsersPath) ? parseUsersFile(readFileSync(config.apiUsersPath, 'utf8')) : { version: 1, users: {} });
  if (config.natsServers.length === 0) {
    if (command === 'import') throw new UsersFileError('import copies users.json into the cluster: set NATS_URL');
    return run(command, user, role, { update: usersFileUpdater(config.apiUsersPath), read: async () => readFile() }, config.auditLogPath);
  }
  const nc = await connect({ servers: [...config.natsServers], name: 'quantrac-users-cli' });
  try {
    const kv = await openUsersBucket(nc);
    const read = async (): Promise<UsersFile> => {
      const { file, bad } = await readKvUsers(kv);
      for (const [name, problem] of bad) process.stderr.write(`${name}: entry in ${USERS_BUCKET} not usable (${problem}); refused until replaced with add\n`);
      return file;
    };
    if (command === 'import') return await importFile(readFile(), kvUsersUpdater(kv), config.auditLogPath);
    return await run(command, user, role, { update: kvUsersUpdater(kv), read }, config.auditLogPath);
  } finally {
    await nc.close();
  }
}

async function run(command: string | undefined, user: string | undefined, role: string | undefined, store: Store, auditLogPath: string): Promise<number> {
  const audit = createAuditLog(auditLogPath);
  const actor = currentOsUser();
  if (command === 'add' && user && ROLES.includes(role as Role)) {
    checkUserName(user);
    const password = randomBytes(15).toString('base64url');
    await setUser(store.update, user, role as Role, password);
    await audit.append({ actor, action: 'user.add', subject: user, detail: { role } });
    process.stdout.write(`${password}\n`);
    process.stderr.write(`added ${user} (${role}): the password above is shown once; log in with POST /api/auth/login\n`);
    return 0;
  }
  if (command === 'disable' && user) {
    await disableUser(store.update, user);
    await audit.append({ actor, action: 'user.disable', subject: user });
    process.stderr.write(`disabled ${user}\n`);
    return 0;
  }
  if (command === 'list') {
    for (const [name, u] of Object.entries((await store.read()).users)) process.stdout.write(`${name}\t${u.role}${u.disabled ? '\tdisabled' : ''}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

/** Copies the file's accounts (hashes as they are) that the bucket lacks; an account already there is left alone. */
async function importFile(file: UsersFile, update: UsersUpdater, auditLogPath: string): Promise<number> {
  const copied = await update((bucket) => {
    const added: string[] = [];
    for (const [name, entry] of Object.entries(file.users)) {
      if (Object.hasOwn(bucket.users, name)) continue;
      bucket.users[name] = entry;
      added.push(name);
    }
    return added;
  });
  const audit = createAuditLog(auditLogPath);
  for (const name of copied) await audit.append({ actor: currentOsUser(), action: 'user.import', subject: name, detail: { role: file.users[name]!.role } });
  const kept = Object.keys(file.users).length - copied.length;
  process.stderr.write(`imported ${copied.length} account(s) into ${USERS_BUCKET}${copied.length ? `: ${copied.join(', ')}` : ''}${kept ? `; ${kept} already there, left as they are` : ''}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    // A refused name or an unknown user is the operator's input (2, like a usage error); else 1.
    process.exit(err instanceof UsersFileError || err instanceof ConfigError ? 2 : 1);
  },
);
