// Credentials of the simulated gateways, for `npm start` when its simulator runs. The broker keeps
// only scrypt hashes, so the simulator's plain passwords live in DATA_DIR/sim-credentials.json
// (0600). A credential made here is marked `issuedBy: "simulator"` in gateways.json; one an
// operator issued (`npm run gateways -- add/rotate`) is never replaced, re-issued or written in
// plain anywhere: the simulator leaves that gateway out. Revoked gateways stay revoked.
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuditLog } from '../server/audit-log.ts';
import { hashPassword, newPassword, readCredentialsFile, updateCredentials, verifyPassword, type CredentialsFile, type CredentialUpdater, type GatewayCredential } from './gateway-credentials.ts';

export interface EnsureOptions {
  /** Where the plain passwords go; default `sim-credentials.json` beside the credentials file. */
  readonly simCredentialsPath?: string;
  /** Issued credentials are recorded here (actor `system:start`). */
  readonly audit?: AuditLog;
  /** Where the credentials live instead of the file (cluster mode: the KV bucket, broker/kv-credentials.ts). */
  readonly store?: { readonly read: () => Promise<CredentialsFile>; readonly update: CredentialUpdater };
}

export type LeftOutReason = 'operator_issued' | 'revoked';

export interface SimulatorCredentials {
  /** gatewayId → plain password, for the gateways the simulator may drive. */
  readonly passwords: Record<string, string>;
  /** Gateways of the simulator's list it must not drive, and why. */
  readonly leftOut: readonly { readonly gatewayId: string; readonly reason: LeftOutReason }[];
}

const defaultSimPath = (credentialsPath: string) => join(dirname(credentialsPath), 'sim-credentials.json');

function readKnown(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {}; // unreadable: the simulator's own credentials are re-issued, as for a first start
  }
}

function writeKnown(path: string, passwords: Record<string, string>): void {
  if (Object.keys(passwords).length === 0) {
    if (existsSync(path)) unlinkSync(path);
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

type Decision =
  | { readonly id: string; readonly state: 'keep'; readonly password: string }
  | { readonly id: string; readonly state: 'adopt'; readonly password: string; readonly hash: string }
  | { readonly id: string; readonly state: 'new' | 'reissue'; readonly password: string; readonly hash: string }
  | { readonly id: string; readonly state: 'left_out'; readonly reason: LeftOutReason };

/**
 * What the simulator may do with one gateway's credential. A credential belongs to the simulator
 * when it is marked so; an unmarked one whose plain password is on record and verifies is adopted
 * (marked): it dates from before the mark, when only `npm start` wrote plain passwords there.
 */
async function decide(id: string, entry: GatewayCredential | undefined, known: string | undefined): Promise<Decision> {
  if (entry?.revokedAt) return { id, state: 'left_out', reason: 'revoked' };
  if (entry && typeof known === 'string' && (await verifyPassword(known, entry.hash))) {
    return entry.issuedBy === 'simulator' ? { id, state: 'keep', password: known } : { id, state: 'adopt', password: known, hash: entry.hash };
  }
  if (entry && entry.issuedBy !== 'simulator') return { id, state: 'left_out', reason: 'operator_issued' };
  const password = newPassword();
  return { id, state: entry ? 'reissue' : 'new', password, hash: await hashPassword(password) };
}

/**
 * For `npm start` with the simulator on: credentials for the simulated gateways `gatewayIds`,
 * created (or re-issued, when the simulator's own password was lost) only where no operator or
 * revocation owns the id. Writes exactly the returned passwords to the 0600 simulator file.
 */
export async function ensureSimulatorCredentials(credentialsPath: string, gatewayIds: readonly string[], opts: EnsureOptions = {}): Promise<SimulatorCredentials> {
  const simPath = opts.simCredentialsPath ?? defaultSimPath(credentialsPath);
  const known = readKnown(simPath);
  const stored = (opts.store ? await opts.store.read() : readCredentialsFile(credentialsPath)).gateways;
  const decisions = await Promise.all(
    [...new Set(gatewayIds)].map((id) => decide(id, Object.hasOwn(stored, id) ? stored[id] : undefined, Object.hasOwn(known, id) ? known[id] : undefined)),
  );
  const issued: Decision[] = [];
  const changed = decisions.filter((d) => d.state === 'new' || d.state === 'reissue' || d.state === 'adopt');
  if (changed.length > 0) {
    const update: CredentialUpdater = opts.store?.update ?? ((change) => updateCredentials(credentialsPath, change));
    await update((file) => {
      for (const d of changed) {
        if (d.state !== 'new' && d.state !== 'reissue' && d.state !== 'adopt') continue;
        // Re-checked under the lock: an operator may have added, rotated or revoked it meanwhile.
        const now = Object.hasOwn(file.gateways, d.id) ? file.gateways[d.id] : undefined;
        const expected = Object.hasOwn(stored, d.id) ? stored[d.id] : undefined;
        if (now?.hash !== expected?.hash || now?.revokedAt) continue;
        file.gateways[d.id] = d.state === 'adopt' ? { ...now!, issuedBy: 'simulator' } : { hash: d.hash, createdAt: new Date().toISOString(), issuedBy: 'simulator' };
        issued.push(d);
      }
    });
    for (const d of issued) {
      if (d.state === 'adopt') continue; // no new secret, only the mark
      await opts.audit?.append({ actor: 'system:start', action: d.state === 'new' ? 'credential.add' : 'credential.rotate', subject: d.id, detail: { issuedBy: 'simulator' } });
    }
  }
  const passwords: Record<string, string> = {};
  const leftOut: { gatewayId: string; reason: LeftOutReason }[] = [];
  for (const d of decisions) {
    if (d.state === 'left_out') leftOut.push({ gatewayId: d.id, reason: d.reason });
    else if (d.state === 'keep' || issued.includes(d)) passwords[d.id] = d.password;
    else leftOut.push({ gatewayId: d.id, reason: 'operator_issued' }); // changed by an operator meanwhile
  }
  writeKnown(simPath, passwords);
  return { passwords, leftOut };
}

/**
 * For `npm start` with the simulator off: creates nothing, and keeps in the simulator file only
 * passwords of credentials that are the simulator's and still verify (a file written before this
 * rule held the whole fleet's).
 */
export async function pruneSimulatorCredentials(credentialsPath: string, simCredentialsPath = defaultSimPath(credentialsPath)): Promise<void> {
  if (!existsSync(simCredentialsPath)) return;
  const known = readKnown(simCredentialsPath);
  const stored = readCredentialsFile(credentialsPath).gateways;
  const kept: Record<string, string> = {};
  for (const [id, password] of Object.entries(known)) {
    const entry = Object.hasOwn(stored, id) ? stored[id] : undefined;
    if (entry?.issuedBy === 'simulator' && !entry.revokedAt && typeof password === 'string' && (await verifyPassword(password, entry.hash))) kept[id] = password;
  }
  writeKnown(simCredentialsPath, kept);
}
