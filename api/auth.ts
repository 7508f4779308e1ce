// Officer and operator authentication: users of scrypt hashes from a UsersSource (users.json, or the
// cluster's KV bucket), signed bearer tokens (HMAC-SHA256 over a JSON payload with expiry), a Fastify
// preHandler per role, and verifyToken() for WebSocket upgrades. Public routes never call into this module.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../contracts/password-hash.ts';
import { ApiError } from './errors.ts';
import { createSemaphore } from '../server/semaphore.ts';
import { ROLES, type Role } from './users-file.ts';
import { createFileUsersSource, type UsersSource } from './users-source.ts';

/** Who a valid token belongs to. */
export interface Principal {
  readonly user: string;
  readonly role: Role;
  /** Token expiry, epoch ms. */
  readonly expiresAt: number;
}


export { hashPassword, verifyPassword };
export { disableUser, parseUsersFile, ROLES, setUser, UsersFileSchema, type Role, type UsersFile } from './users-file.ts';
export type { UsersSource } from './users-source.ts';

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

interface AuthCommonOptions {
  /** The HMAC key of the tokens: the same on every API process that must accept the others' tokens. */
  readonly secret: Buffer;
  /** Lifetime of an issued token, seconds. */
  readonly tokenTtlS: number;
  readonly now?: () => number;
  /** With `usersPath`: a new version of the users file cannot be used (the last good one keeps serving): log and count it. */
  readonly onBadRead?: (problem: string) => void;
  /** Password checks running at once (default 1); more wait, up to `hashQueueMax` (64), then login() throws BusyError. */
  readonly hashConcurrency?: number;
  readonly hashQueueMax?: number;
}

/** The accounts: the users file at `usersPath` (one process), or any other source (the cluster's KV bucket). */
export type AuthOptions = AuthCommonOptions & ({ readonly usersPath: string; readonly users?: undefined } | { readonly users: UsersSource; readonly usersPath?: undefined });

export interface Auth {
  /** A token for valid credentials of an enabled user, else undefined (no reason given); BusyError when too many checks wait. */
  login(user: string, password: string): Promise<{ token: string; user: string; role: Role; expiresAt: number } | undefined>;
  /** Signs a token without a password check (tests, service accounts). */
  issueToken(user: string, role: Role): string;
  /** The principal of a well-signed, unexpired token whose user is still enabled with that role. */
  verifyToken(token: string): Principal | undefined;
  /** preHandler: 401 without a valid bearer token, 403 when the role is not among `roles`. */
  requireRole(...roles: Role[]): preHandlerAsyncHookHandler;
  /** Why the accounts in use are not the ones stored (users file, KV entries) (for /readyz), or undefined. */
  usersProblem(): string | undefined;
  /** Password checks running and waiting now, and the most ever running at once. */
  hashingStats(): { running: number; waiting: number; peakRunning: number };
}

const TokenPayloadSchema = z.object({ sub: z.string(), role: z.enum(ROLES), exp: z.number().int() });

// A dummy hash so that an unknown user costs the same scrypt time as a wrong password.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function createAuth(opts: AuthOptions): Auth {
  const now = opts.now ?? Date.now;
  const users = opts.users ?? createFileUsersSource(opts.usersPath, opts.onBadRead);
  // scrypt runs on libuv's thread pool, shared with the spool's fdatasync: logins take few threads.
  const hashing = createSemaphore(opts.hashConcurrency ?? 1, opts.hashQueueMax ?? 64);
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
    const u = users.get(payload.sub);
    if (!u || u.disabled || u.role !== payload.role) return undefined;
    return { user: payload.sub, role: payload.role, expiresAt: payload.exp };
  };

  return {
    async login(user, password) {
      const u = users.get(user);
      const ok = await hashing.run(() => verifyPassword(password, u?.hash ?? DUMMY_HASH));
      if (!u || !ok || u.disabled) return undefined;
      const token = issueToken(user, u.role);
      return { token, user, role: u.role, expiresAt: now() + opts.tokenTtlS * 1000 };
    },
    issueToken,
    verifyToken,
    usersProblem: () => users.problem(),
    hashingStats: () => hashing.stats(),
    requireRole(...roles) {
      return async (req: FastifyRequest, _reply: FastifyReply) => {
        if (hasUrlToken(req)) throw new ApiError('UNAUTHORIZED', 'tokens in URLs are refused (they end up in logs); send Authorization: Bearer <token>');
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
 * The bearer token of a request: the `Authorization: Bearer …` header only. Tokens in URLs
 * (`?access_token=`, RFC 6750 §2.3) are refused: URLs end up in proxy and access logs and browser
 * history, and these tokens live for hours.
 */
export function tokenFromRequest(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  return undefined;
}

/** Names of query parameters that would carry a token in the URL. */
const URL_TOKEN_PARAMS = ['access_token', 'token'];

/** True when the request carries a token in its URL (refused, see tokenFromRequest). */
export function hasUrlToken(req: FastifyRequest): boolean {
  const q = req.query as Record<string, unknown> | undefined;
  return URL_TOKEN_PARAMS.some((k) => q?.[k] !== undefined);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireRole() on authenticated requests. */
    principal?: Principal;
  }
}
