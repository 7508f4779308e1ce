// Administration of MQTT credentials (add, rotate, revoke, list) on DATA_DIR/gateways.json: what
// `npm run gateways` runs. Passwords are generated here, returned once and never stored in plain;
// every change is appended to the audit log. The running broker picks changes up by itself.
import { X509Certificate } from 'node:crypto';
import type { AuditLog } from '../server/audit-log.ts';
import { CredentialError } from './errors.ts';
import { hashPassword, newPassword, readCredentialsFile, updateCredentials, type CredentialRole, type CredentialsFile, type CredentialUpdater } from './gateway-credentials.ts';

/** Same rule as station registry gateway ids (contracts/stations.ts); no `:` (see authenticate.ts). */
const ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

export interface AdminContext {
  readonly credentialsPath: string;
  readonly audit: AuditLog;
  readonly actor: string;
  /** Where changes go instead of the file (cluster mode: the KV bucket, broker/kv-credentials.ts). */
  readonly update?: CredentialUpdater | undefined;
}

const change = <T>(ctx: AdminContext, fn: (file: CredentialsFile) => Promise<T> | T): Promise<T> =>
  ctx.update ? ctx.update(fn) : updateCredentials(ctx.credentialsPath, fn);

export interface CredentialSummary {
  readonly id: string;
  readonly role: CredentialRole;
  readonly createdAt: string;
  readonly revokedAt?: string | undefined;
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new CredentialError('bad_id', `"${id}" is not a valid id: lower-case letters, digits and dashes, 2-63 characters`);
}

/** A new credential (or a new one for a revoked id); returns the password, shown once. */
export async function addCredential(ctx: AdminContext, id: string, role: CredentialRole = 'gateway'): Promise<string> {
  checkId(id);
  const password = newPassword();
  const hash = await hashPassword(password);
  await change(ctx, (file) => {
    const existing = file.gateways[id];
    if (existing && !existing.revokedAt) throw new CredentialError('exists', `${id} already has a credential; use rotate`);
    file.gateways[id] = { hash, createdAt: new Date().toISOString(), ...(role === 'consumer' ? { role } : {}) };
  });
  await ctx.audit.append({ actor: ctx.actor, action: 'credential.add', subject: id, detail: { role } });
  return password;
}

/**
 * Binds a client certificate (PEM) to a live gateway credential: from now on the gateway
 * authenticates over TLS with that certificate (MQTT_TLS_CLIENT_CERT), its password is refused,
 * and sessions that used the password are ended. Returns the certificate's SHA-256 fingerprint.
 */
export async function bindCertificate(ctx: AdminContext, id: string, certificatePem: string | Buffer): Promise<string> {
  checkId(id);
  let fingerprint: string;
  try {
    fingerprint = new X509Certificate(certificatePem).fingerprint256;
  } catch (err) {
    throw new CredentialError('bad_certificate', `not a PEM certificate: ${(err as Error).message}`);
  }
  await change(ctx, (file) => {
    const existing = file.gateways[id];
    if (!existing) throw new CredentialError('not_found', `${id} has no credential; use add first`);
    if (existing.revokedAt) throw new CredentialError('revoked', `${id} was revoked at ${existing.revokedAt}`);
    if ((existing.role ?? 'gateway') !== 'gateway') throw new CredentialError('bad_id', `${id} is a consumer; certificates are for gateways`);
    file.gateways[id] = { ...existing, certSha256: fingerprint };
  });
  await ctx.audit.append({ actor: ctx.actor, action: 'credential.bind_cert', subject: id, detail: { certSha256: fingerprint } });
  return fingerprint;
}

/** Removes the bound certificate: the gateway authenticates with its password again (rotate it). */
export async function unbindCertificate(ctx: AdminContext, id: string): Promise<void> {
  checkId(id);
  await change(ctx, (file) => {
    const existing = file.gateways[id];
    if (!existing?.certSha256) throw new CredentialError('not_found', `${id} has no bound certificate`);
    const { certSha256: _bound, ...rest } = existing;
    file.gateways[id] = rest;
  });
  await ctx.audit.append({ actor: ctx.actor, action: 'credential.unbind_cert', subject: id });
}

/** Replaces a live credential's password; sessions using the old one are ended by the broker. */
export async function rotateCredential(ctx: AdminContext, id: string): Promise<string> {
  checkId(id);
  const password = newPassword();
  const hash = await hashPassword(password);
  const role = await change(ctx, (file) => {
    const existing = file.gateways[id];
    if (!existing) throw new CredentialError('not_found', `${id} has no credential; use add`);
    if (existing.revokedAt) throw new CredentialError('revoked', `${id} was revoked at ${existing.revokedAt}; use add to issue a new credential`);
    // Rotated by an operator, the credential is the operator's: npm start no longer touches it.
    const { issuedBy: _simulator, ...rest } = existing;
    file.gateways[id] = { ...rest, hash, createdAt: new Date().toISOString() };
    return existing.role ?? 'gateway';
  });
  await ctx.audit.append({ actor: ctx.actor, action: 'credential.rotate', subject: id, detail: { role } });
  return password;
}

/** Refuses the credential from now on; connected sessions using it are ended by the broker. */
export async function revokeCredential(ctx: AdminContext, id: string): Promise<void> {
  checkId(id);
  const role = await change(ctx, (file) => {
    const existing = file.gateways[id];
    if (!existing) throw new CredentialError('not_found', `${id} has no credential`);
    if (existing.revokedAt) throw new CredentialError('revoked', `${id} was already revoked at ${existing.revokedAt}`);
    file.gateways[id] = { ...existing, revokedAt: new Date().toISOString() };
    return existing.role ?? 'gateway';
  });
  await ctx.audit.append({ actor: ctx.actor, action: 'credential.revoke', subject: id, detail: { role } });
}

export function listCredentials(credentialsPath: string): CredentialSummary[] {
  return summarize(readCredentialsFile(credentialsPath));
}

export function summarize(file: CredentialsFile): CredentialSummary[] {
  return Object.entries(file.gateways)
    .map(([id, c]) => ({ id, role: c.role ?? 'gateway', createdAt: c.createdAt, ...(c.revokedAt ? { revokedAt: c.revokedAt } : {}) }))
    .sort((a, b) => a.id.localeCompare(b.id));
}
