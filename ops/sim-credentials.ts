// Credentials for the simulated gateways of `npm start`. The broker keeps only scrypt hashes
// (DATA_DIR/gateways.json), so the plain passwords the simulator needs live in a 0600 file beside
// it (DATA_DIR/sim-credentials.json); a gateway without a known plain password gets a new one.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCredentialsFile, setGatewayPassword } from '../broker/gateway-credentials.ts';

export async function ensureSimCredentials(dataDir: string, gatewayIds: readonly string[]): Promise<string> {
  mkdirSync(dataDir, { recursive: true });
  const storePath = join(dataDir, 'gateways.json');
  const simPath = join(dataDir, 'sim-credentials.json');
  const known: Record<string, string> = existsSync(simPath) ? (JSON.parse(readFileSync(simPath, 'utf8')) as Record<string, string>) : {};
  const stored = readCredentialsFile(storePath).gateways;
  let changed = false;
  for (const id of gatewayIds) {
    if (known[id] && stored[id] && !stored[id].revokedAt) continue;
    known[id] = await setGatewayPassword(storePath, id);
    changed = true;
  }
  if (changed || !existsSync(simPath)) writeFileSync(simPath, `${JSON.stringify(known, null, 2)}\n`, { mode: 0o600 });
  return simPath;
}
