// Officer and operator authentication: users in a JSON file of scrypt hashes, signed bearer tokens
// (HMAC-SHA256 over a JSON payload with expiry), a Fastify preHandler per role, and verifyToken()
// for WebSocket upgrades. Public routes never call into this module.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../contracts/password-hash.ts';
import { ApiError } from './errors.ts';

export const ROLES = ['officer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Who a valid token belongs to. */
export interface Principal {
  readonly user: string;
  readonly role: Role;
  /** Token expiry, epoch ms. */
  readonly expiresAt: number;
}


export const UsersFileSchema = z.object({
  version: z.literal(1),
  users: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    z.object({
      role: z.enum(ROLES),
      /** `scrypt$N$r$p$saltB64$hashB64` */
      hash: z.string().startsWith('scrypt$'),
      disabled: z.boolean().optional(),
    }),
  ),
});
export type UsersFile = z.infer<typeof UsersFileSchema>;

export { hashPassword, verifyPassword };

/** Adds or replaces a user (atomic rename, mode 0600). For set-up scripts and tests. */
export async function setUser(usersPath: string, user: string, role: Role, password: string): Promise<void> {
  const file: UsersFile = existsSync(usersPath) ? UsersFileSchema.parse(JSON.parse(readFileSync(usersPath, 'utf8'))) : { version: 1, users: {} };
  file.users[user] = { role, hash: await hashPassword(password) };
  mkdirSync(dirname(usersPath), { recursive: true });
  const tmp = `${usersPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, usersPath);
}

/** The token secret: the configured one, else one generated once and kept in `secretPath` (0600). */
export function loadOrCreateSecret(configured: string | undefined, secretPath: string): Buffer {
  if (configured) return Buffer.from(configured, 'utf8');
  if (existsSync(secretPath)) return Buffer.from(readFileSync(secretPath, 'utf8').trim(), 'base64url');
  const secret = randomBytes(32);
  mkdirSync(dirname(secretPath), { recursive: true });
  writeFileSync(secretPath, `${secret.toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(secretPath, 0o600);
  return secret;
}

export interface AuthOptions {
  readonly usersPath: string;
  readonly secret: Buffer;
  /** Lifetime of an issued token, seconds. */
  readonly tokenTtlS: number;
  readonly now?: () => number;
}

export interface Auth {
  /** A token for valid credentials of an enabled user, else undefined (no reason given). */
  login(user: string, password: string): Promise<{ token: string; user: string; role: Role; expiresAt: number } | undefined>;
  /** Signs a token without a password check (tests, service accounts). */
  issueToken(user: string, role: Role): string;
  /** The principal of a well-signed, unexpired token whose user is still enabled with that role. */
  verifyToken(token: string): Principal | undefined;
  /** preHandler: 401 without a valid bearer token, 403 when the role is not among `roles`. */
  requireRole(...roles: Role[]): preHandlerAsyncHookHandler;
}

const TokenPayloadSchema = z.object({ sub: z.string(), role: z.enum(ROLES), exp: z.number().int() });

// A dummy hash so that an unknown user costs the same scrypt time as a wrong password.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function createAuth(opts: AuthOptions): Auth {
  const now = opts.now ?? Date.now;
  let cache: { key: string; file: UsersFile } | undefined;
  // Re-read when the file changes, so adding or disabling a user needs no restart.
  const users = (): UsersFile['users'] => {
    if (!existsSync(opts.usersPath)) return {};
    const st = statSync(opts.usersPath);
    const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (cache?.key !== key) cache = { key, file: UsersFileSchema.parse(JSON.parse(readFileSync(opts.usersPath, 'utf8'))) };
    return cache.file.users;
  };
  const sign = (body: string) => createHmac('sha256', opts.secret).update(body).digest('base64url');

  const issueToken = (user: string, role: Role): string => {
    const body = Buffer.from(JSON.stringify({ sub: user, role, exp: now() + opts.tokenTtlS * 1000 })).toString('base64url');
    return `${body}.${sign(body)}`;
  };

  const verifyToken = (token: string): Principal | undefined => {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) return undefined;
    const expected = Buffer.from(sign(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let payload: z.infer<typeof TokenPayloadSchema>;
    try {
      payload = TokenPayloadSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    } catch {
      return undefined;
    }
    if (payload.exp <= now()) return undefined;
    const u = users()[payload.sub];
    if (!u || u.disabled || u.role !== payload.role) return undefined;
    return { user: payload.sub, role: payload.role, expiresAt: payload.exp };
  };

  return {
    async login(user, password) {
      const u = Object.hasOwn(users(), user) ? users()[user] : undefined;
      const ok = await verifyPassword(password, u?.hash ?? DUMMY_HASH);
      if (!u || !ok || u.disabled) return undefined;
      const token = issueToken(user, u.role);
      return { token, user, role: u.role, expiresAt: now() + opts.tokenTtlS * 1000 };
    },
    issueToken,
    verifyToken,
    requireRole(...roles) {
      return async (req: FastifyRequest, _reply: FastifyReply) => {
        const token = tokenFromRequest(req);
        const principal = token ? verifyToken(token) : undefined;
        if (!principal) throw new ApiError('UNAUTHORIZED');
        if (!roles.includes(principal.role)) throw new ApiError('FORBIDDEN', `this needs the role ${roles.join(' or ')}`);
        req.principal = principal;
      };
    },
  };
}

/**
 * The bearer token of a request: the `Authorization: Bearer …` header, else the `access_token`
 * query parameter (browsers cannot set headers on a WebSocket upgrade; RFC 6750 §2.3).
 */
export function tokenFromRequest(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  const q = req.query as Record<string, unknown> | undefined;
  return typeof q?.access_token === 'string' && q.access_token !== '' ? q.access_token : undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireRole() on authenticated requests. */
    principal?: Principal;
  }
}
