// Gateway credentials: a JSON file of scrypt hashes (never plain passwords), keyed by gateway id.
// Re-read when the file changes, so add/rotate/revoke take effect without a restart.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (pw: string | Buffer, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>;
const KEY_BYTES = 32;
/** OWASP-recommended scrypt cost for interactive logins (N=2^15, r=8, p=1): ~30-50 ms here. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export interface GatewayCredential {
  /** `scrypt$N$r$p$saltB64$hashB64` */
  readonly hash: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export type CredentialsFile = { version: 1; gateways: Record<string, GatewayCredential> };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_BYTES, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: Buffer | string, hash: string): Promise<boolean> {
  const [scheme, n, r, p, saltB64, keyB64] = hash.split('$');
  if (scheme !== 'scrypt' || !saltB64 || !keyB64) return false;
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scrypt(password, Buffer.from(saltB64, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export interface CredentialStore {
  /** The gateway id when `username`/`password` are a live credential, else undefined. */
  verify(username: string, password: Buffer): Promise<string | undefined>;
}

/** Reads the credentials file on each change (mtime), so CLI edits apply without a restart. */
export function createCredentialStore(path: string): CredentialStore {
  let cached: { mtimeMs: number; file: CredentialsFile } | undefined;
  const load = (): CredentialsFile => {
    if (!existsSync(path)) return { version: 1, gateways: {} };
    const { mtimeMs } = statSync(path);
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, file: readCredentialsFile(path) };
    return cached.file;
  };
  return {
    async verify(username, password) {
      const entry = load().gateways[username];
      if (!entry || entry.revokedAt) return undefined;
      return (await verifyPassword(password, entry.hash)) ? username : undefined;
    },
  };
}

export function readCredentialsFile(path: string): CredentialsFile {
  if (!existsSync(path)) return { version: 1, gateways: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as CredentialsFile;
  if (parsed.version !== 1 || typeof parsed.gateways !== 'object') throw new Error(`${path} is not a quantrac credentials file`);
  return parsed;
}

export function writeCredentialsFile(path: string, file: CredentialsFile): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Adds or replaces a gateway's credential; returns the new plain password (shown once). */
export async function setGatewayPassword(path: string, gatewayId: string, password = randomBytes(18).toString('base64url')): Promise<string> {
  const file = readCredentialsFile(path);
  file.gateways[gatewayId] = { hash: await hashPassword(password), createdAt: new Date().toISOString() };
  writeCredentialsFile(path, file);
  return password;
}
