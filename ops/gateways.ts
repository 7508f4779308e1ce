// `npm run gateways -- add|rotate|revoke|list|bind-cert|unbind-cert [id] [--consumer]`: MQTT credentials in
// DATA_DIR/gateways.json (or, with NATS_URL, the cluster's KV bucket that every edge watches),
// applied by running brokers within a second, no restart. A new password
// is printed once on stdout; only its scrypt hash is stored. Changes go to DATA_DIR/audit.jsonl.
import { mkdirSync, readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { addCredential, bindCertificate, unbindCertificate, listCredentials, revokeCredential, rotateCredential, summarize, type CredentialSummary } from '../broker/credential-admin.ts';
import { kvCredentialUpdater, openCredentialsBucket, readKvCredentials } from '../broker/kv-credentials.ts';
import { CredentialError } from '../broker/errors.ts';
import { createAuditLog, currentOsUser } from '../server/audit-log.ts';
import { parseConfig } from '../server/config.ts';
import { ConfigError } from '../server/errors.ts';
import { ConcurrentEditError } from '../server/kv-compare-and-set.ts';

const USAGE = `usage: npm run gateways -- <command> [id] [--consumer]
  add <id> [--consumer]  new credential (a gateway, or a read-only consumer of alerts and status)
  rotate <id>            new password; sessions using the old one are disconnected
  revoke <id>            refuse from now on; connected sessions are disconnected
  list                   ids, roles, dates (never passwords)
  bind-cert <id> <pem>   the gateway authenticates with this client certificate over TLS from now on
                         (MQTT_TLS_CLIENT_CERT); its password is refused
  unbind-cert <id>       back to the password (rotate it)`;

async function main(argv: readonly string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith('--'));
  const [command, id, certFile] = argv.filter((a) => !a.startsWith('--'));
  const unknown = flags.filter((f) => f !== '--consumer');
  if (!command || unknown.length > 0 || (command !== 'list' && !id) || (command === 'bind-cert' && !certFile)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = parseConfig(process.env);
  mkdirSync(config.dataDir, { recursive: true });
  const nc = config.natsServers.length > 0 ? await connect({ servers: [...config.natsServers], name: 'quantrac-gateways-cli' }) : undefined;
  try {
    const kv = nc ? await openCredentialsBucket(nc) : undefined;
    const ctx = {
      credentialsPath: config.credentialsPath,
      audit: createAuditLog(config.auditLogPath),
      actor: currentOsUser(),
      update: kv ? kvCredentialUpdater(kv) : undefined,
    };
    const list = async (): Promise<CredentialSummary[]> => (kv ? summarize(await readKvCredentials(kv)) : listCredentials(config.credentialsPath));
    return await run(command, id, flags, ctx, list, certFile);
  } finally {
    await nc?.close();
  }
}

async function run(
  command: string,
  id: string | undefined,
  flags: readonly string[],
  ctx: Parameters<typeof addCredential>[0],
  list: () => Promise<CredentialSummary[]>,
  certFile?: string,
): Promise<number> {
  switch (command) {
    case 'add': {
      const password = await addCredential(ctx, id!, flags.includes('--consumer') ? 'consumer' : 'gateway');
      process.stdout.write(`${password}\n`);
      const clientId = flags.includes('--consumer') ? `${id} or ${id}:<anything>` : id;
      process.stderr.write(`added ${id}: the password above is shown once; connect with username ${id}, client id ${clientId}\n`);
      return 0;
    }
    case 'rotate': {
      process.stdout.write(`${await rotateCredential(ctx, id!)}\n`);
      process.stderr.write(`rotated ${id}: the password above is shown once; sessions using the old one are disconnected\n`);
      return 0;
    }
    case 'revoke':
      await revokeCredential(ctx, id!);
      process.stderr.write(`revoked ${id}\n`);
      return 0;
    case 'bind-cert': {
      const fingerprint = await bindCertificate(ctx, id!, readFileSync(certFile!));
      process.stderr.write(`bound ${id} to the certificate with SHA-256 ${fingerprint}; its password is no longer accepted\n`);
      return 0;
    }
    case 'unbind-cert':
      await unbindCertificate(ctx, id!);
      process.stderr.write(`unbound the certificate of ${id}; it authenticates with its password again (consider rotate)\n`);
      return 0;
    case 'list':
      for (const c of await list()) {
        process.stdout.write(`${c.id}\t${c.role}\tcreated ${c.createdAt}${c.revokedAt ? `\trevoked ${c.revokedAt}` : ''}\n`);
      }
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CredentialError || err instanceof ConfigError || err instanceof ConcurrentEditError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
