// Credentials for every gateway of the registry, for `npm start` and its simulator. The broker keeps
// only scrypt hashes, so a plain password is known only while DATA_DIR/sim-credentials.json (0600)
// still holds one that verifies; any gateway without such a password gets a FRESH credential (its
// old password, if a real device had it, stops working). Revoked gateways are left revoked.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuditLog } from '../server/audit-log.ts';
import { hashPassword, newPassword, readCredentialsFile, updateCredentials, verifyPassword } from './gateway-credentials.ts';

export interface EnsureOptions {
  /** Where the plain passwords go; default `sim-credentials.json` beside the credentials file. */
  readonly simCredentialsPath?: string;
  /** Issued credentials are recorded here (actor `system:start`). */
  readonly audit?: AuditLog;
}

function readKnown(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {}; // unreadable: every gateway gets a fresh credential, as for a first start
  }
}

/**
 * Returns `{gatewayId: password}` for every non-revoked gateway of `gatewayIds`, creating or
 * re-issuing credentials where no verifying plain password is on record, and writes the map to
 * the 0600 simulator file. Revoked gateways are omitted.
 */
export async function ensureGatewayCredentials(credentialsPath: string, gatewayIds: readonly string[], opts: EnsureOptions = {}): Promise<Record<string, string>> {
  const simPath = opts.simCredentialsPath ?? join(dirname(credentialsPath), 'sim-credentials.json');
  const known = readKnown(simPath);
  const stored = readCredentialsFile(credentialsPath).gateways;
  const result: Record<string, string> = {};
  type Check = { id: string; state: 'ok' | 'new' | 'reissue' | 'revoked'; password?: string; hash?: string };
  const checks = await Promise.all(
    [...new Set(gatewayIds)].map(async (id): Promise<Check> => {
      const entry = Object.hasOwn(stored, id) ? stored[id] : undefined;
      if (entry?.revokedAt) return { id, state: 'revoked' };
      const password = Object.hasOwn(known, id) ? known[id] : undefined;
      if (entry && typeof password === 'string' && (await verifyPassword(password, entry.hash))) return { id, state: 'ok', password };
      const fresh = newPassword();
      return { id, state: entry ? 'reissue' : 'new', password: fresh, hash: await hashPassword(fresh) };
    }),
  );
  const issued = checks.filter((c) => c.state === 'new' || c.state === 'reissue');
  if (issued.length > 0) {
    await updateCredentials(credentialsPath, (file) => {
      for (const c of issued) {
        if (file.gateways[c.id]?.revokedAt) {
          c.state = 'revoked'; // revoked meanwhile: leave it so
          continue;
        }
        file.gateways[c.id] = { ...(file.gateways[c.id] ?? {}), hash: c.hash!, createdAt: new Date().toISOString() };
      }
    });
    for (const c of issued) {
      if (c.state === 'revoked') continue;
      await opts.audit?.append({ actor: 'system:start', action: c.state === 'new' ? 'credential.add' : 'credential.rotate', subject: c.id, detail: { reason: 'no verifying plain password on record' } });
    }
  }
  for (const c of checks) if (c.state !== 'revoked' && c.password) result[c.id] = c.password;
  const tmp = `${simPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, simPath);
  return result;
}
