// MQTT credentials: a JSON file of scrypt hashes (never plain passwords), keyed by user name (a
// gateway id, or a read-only consumer). Re-read when the file changes, so add/rotate/revoke take
// effect without a restart; writers take a lock file and replace the file atomically.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hashPassword, verifyPassword } from '../contracts/password-hash.ts';
import { withFileLock } from '../server/file-lock.ts';
import { createLastGoodFile } from '../server/last-good-file.ts';

/** `gateway`: publishes its own stations' readings; `consumer`: subscribes to alerts/status only. */
export type CredentialRole = 'gateway' | 'consumer';

export interface GatewayCredential {
  /** `scrypt$N$r$p$saltB64$hashB64` */
  readonly hash: string;
  readonly createdAt: string;
  /** Absent means `gateway` (files written before roles existed). */
  readonly role?: CredentialRole;
  readonly revokedAt?: string;
  /** `simulator`: made by `npm start` for its simulator, which may re-issue it; absent: an operator's (never touched by `npm start`). */
  readonly issuedBy?: 'simulator';
  /**
   * SHA-256 fingerprint (`AB:CD:…`, as openssl prints it) of the client certificate bound to this
   * gateway (`npm run gateways -- bind-cert`). Once bound, the gateway authenticates with that
   * certificate over TLS, and its password is no longer accepted.
   */
  readonly certSha256?: string;
}

export type CredentialsFile = { version: 1; gateways: Record<string, GatewayCredential> };

/** Who a verified user is; `hash` identifies the credential so a rotation can end old sessions. */
export interface VerifiedUser {
  readonly id: string;
  readonly role: CredentialRole;
  readonly hash: string;
  /** Set when the session authenticated with its bound client certificate. */
  readonly certSha256?: string;
}

export { hashPassword, verifyPassword };

export interface CredentialStore {
  /** The user when `username`/`password` are a live credential, else undefined. */
  verify(username: string, password: Buffer): Promise<VerifiedUser | undefined>;
  /** False once the credential a session authenticated with is revoked, rotated or removed. */
  isLive(user: VerifiedUser): boolean;
  /** The gateway `id` when `certSha256` (a CA-verified client certificate) is bound to it, else undefined. */
  verifyCertificate?(id: string, certSha256: string): VerifiedUser | undefined;
  /** Changes whenever the file does (inode, size, mtime); cheap to poll. */
  revision(): string;
  /** Stores that learn of changes by themselves (the cluster's KV bucket) call this at once. */
  onChange?(listener: () => void): void;
}

/** Applies `change` to the credentials and stores the result (file under a lock, or KV with compare-and-set). */
export type CredentialUpdater = <T>(change: (file: CredentialsFile) => Promise<T> | T) => Promise<T>;

export interface CredentialStoreOptions {
  /** A new version of the file cannot be used (the last good one keeps serving): log and count it. */
  readonly onBadRead?: (problem: string) => void;
}

/**
 * Reads the credentials file on each change, so CLI edits apply without a restart. A hand-edited
 * file that does not parse leaves the last good version in force (never an exception in a hook or
 * the broker's revocation timer).
 */
export function createCredentialStore(path: string, opts: CredentialStoreOptions = {}): CredentialStore & { problem(): string | undefined } {
  const file = createLastGoodFile<CredentialsFile>({ path, parse: (text) => parseCredentialsFile(path, text), absent: { version: 1, gateways: {} }, onBadRead: opts.onBadRead });
  const load = () => file.get();
  return {
    async verify(username, password) {
      const entry = entryOf(load(), username);
      if (!entry || entry.revokedAt || entry.certSha256) return undefined; // a bound certificate replaces the password
      if (!(await verifyPassword(password, entry.hash))) return undefined;
      return { id: username, role: entry.role ?? 'gateway', hash: entry.hash };
    },
    verifyCertificate(id, certSha256) {
      const entry = entryOf(load(), id);
      if (!entry || entry.revokedAt || !entry.certSha256 || entry.certSha256 !== certSha256) return undefined;
      return { id, role: entry.role ?? 'gateway', hash: entry.hash, certSha256 };
    },
    isLive(user) {
      const entry = entryOf(load(), user.id);
      if (entry === undefined || entry.revokedAt) return false;
      return user.certSha256 ? entry.certSha256 === user.certSha256 : entry.hash === user.hash && !entry.certSha256;
    },
    revision: () => file.revision(),
    problem: () => file.problem(),
  };
}

/** The file is keyed by names from the wire: an inherited name ('__proto__') must read as absent. */
const entryOf = (file: CredentialsFile, name: string): GatewayCredential | undefined =>
  Object.hasOwn(file.gateways, name) ? file.gateways[name] : undefined;

export function readCredentialsFile(path: string): CredentialsFile {
  if (!existsSync(path)) return { version: 1, gateways: {} };
  return parseCredentialsFile(path, readFileSync(path, 'utf8'));
}

function parseCredentialsFile(path: string, text: string): CredentialsFile {
  const parsed = JSON.parse(text) as CredentialsFile;
  if (parsed?.version !== 1 || typeof parsed.gateways !== 'object' || parsed.gateways === null) throw new Error(`${path} is not a quantrac credentials file`);
  for (const [id, c] of Object.entries(parsed.gateways)) {
    if (typeof c?.hash !== 'string' || !c.hash.startsWith('scrypt$')) throw new Error(`${path}: gateways.${id}.hash is not a scrypt hash`);
  }
  return parsed;
}

export function writeCredentialsFile(path: string, file: CredentialsFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path); // atomic: the broker never reads half a file
}

/**
 * Runs `change` on the file under its lock (server/file-lock.ts), so two CLI runs or the CLI and
 * `npm start` cannot lose each other's edits.
 */
export async function updateCredentials<T>(path: string, change: (file: CredentialsFile) => Promise<T> | T): Promise<T> {
  return withFileLock(path, async () => {
    const file = readCredentialsFile(path);
    const result = await change(file);
    writeCredentialsFile(path, file);
    return result;
  });
}

export const newPassword = (): string => randomBytes(18).toString('base64url');

/** Adds or replaces a credential; returns the new plain password (shown once). */
export async function setGatewayPassword(path: string, gatewayId: string, password = newPassword(), role: CredentialRole = 'gateway'): Promise<string> {
  const hash = await hashPassword(password); // outside the lock: it costs ~40 ms
  await updateCredentials(path, (file) => {
    file.gateways[gatewayId] = { hash, createdAt: new Date().toISOString(), ...(role === 'consumer' ? { role } : {}) };
  });
  return password;
}
