// The API token secret of a cluster: every API process must sign and check tokens with the same key,
// so that a token issued by one verifies on the others behind the load balancer. API_TOKEN_SECRET
// when configured (then on every API process alike), else a random key created once in a replicated
// KV bucket: whoever creates it first wins, the others read the winner's.
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';

export const API_SECRETS_BUCKET = 'quantrac_api_secrets';
const TOKEN_SECRET_KEY = 'token-secret';

export async function openApiSecretsBucket(nc: NatsConnection, replicas = 3): Promise<KV> {
  return new Kvm(nc).create(API_SECRETS_BUCKET, { replicas, history: 1 });
}

/**
 * nats-server before 2.9.21 may accept two creates of one key that arrive together (the expected
 * revision is checked before, not within, the replicated write: nats-server#4320), the later one
 * stored. So a secret younger than `settleMs` is read again once that long has passed: by then
 * every process reads the one stored last.
 */
export async function loadOrCreateKvSecret(nc: NatsConnection, configured: string | undefined, opts: { replicas?: number; settleMs?: number } = {}): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  const settleMs = opts.settleMs ?? 500;
  const kv = await openApiSecretsBucket(nc, opts.replicas);
  const read = async () => {
    const e = await kv.get(TOKEN_SECRET_KEY);
    return e && e.operation === 'PUT' && e.length > 0 ? { secret: Buffer.from(e.string().trim(), 'base64url'), ageMs: Date.now() - e.created.getTime() } : undefined;
  };
  for (let attempt = 0; ; attempt++) {
    const stored = await read();
    if (stored && stored.ageMs >= settleMs) return stored.secret;
    if (!stored) {
      try {
        await kv.create(TOKEN_SECRET_KEY, randomBytes(32).toString('base64url')); // refused when another process was first
      } catch (err) {
        if (attempt >= 5) throw err; // not a lost race, or lost every time: report it
      }
    }
    await new Promise((r) => setTimeout(r, settleMs));
    const settled = await read();
    if (settled) return settled.secret;
  }
}
