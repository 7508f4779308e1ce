// The API token secret of a cluster: every API process must sign and check tokens with the same key,
// so that a token issued by one verifies on the others behind the load balancer. API_TOKEN_SECRET
// when configured (then on every API process alike), else a random key created once in a replicated
// KV bucket: whoever creates it first wins, the others read the winner's.
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';

export const API_SECRETS_BUCKET = 'quantrac_api_secrets';
const TOKEN_SECRET_KEY = 'token-secret';

export async function loadOrCreateKvSecret(nc: NatsConnection, configured: string | undefined, replicas = 3): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  const kv = await new Kvm(nc).create(API_SECRETS_BUCKET, { replicas, history: 1 });
  for (let attempt = 0; ; attempt++) {
    const stored = await kv.get(TOKEN_SECRET_KEY);
    if (stored && stored.operation === 'PUT' && stored.length > 0) return Buffer.from(stored.string().trim(), 'base64url');
    const secret = randomBytes(32);
    try {
      await kv.create(TOKEN_SECRET_KEY, secret.toString('base64url')); // refused when another process was first
      return secret;
    } catch (err) {
      if (attempt >= 5) throw err; // not a lost race, or lost every time: report it
    }
  }
}
