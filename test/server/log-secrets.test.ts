// Secrets never reach the log: the real entry (server/main.ts) with a webhook receiver that is down,
// at a URL carrying its secret in the user info and the query (as many receivers are provisioned),
// logs its failed deliveries — every line the process writes, at info level, is searched for the
// secret (issue #14: webhook URLs were logged in full).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { eventually, uniqueDatabase } from '../support/influx.ts';
import { serverProcessEnv, startServerProcess } from '../support/server-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-log-secrets-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const SECRET = 'hook-url-secret-5821';

it('logs a failed webhook delivery with the URL redacted, and the secret nowhere in the output', async () => {
  const password = await setGatewayPassword(join(dataDir, 'gateways.json'), 'gw-river');
  const server = await startServerProcess(
    {
      ...serverProcessEnv(uniqueDatabase('logsecret'), dataDir),
      LOG_LEVEL: 'info',
      ALERT_WEBHOOKS: `http://hook:${SECRET}@127.0.0.1:9/hook?key=${SECRET}`,
      ALERT_WEBHOOK_SECRET: 'webhook-signing-secret-0123',
      ALERT_WEBHOOK_MAX_ATTEMPTS: '2',
      ALERT_WEBHOOK_BACKOFF_BASE_MS: '50',
      ALERT_WEBHOOK_BACKOFF_MAX_MS: '100',
    },
    { stdout: 'pipe', stderr: 'pipe' },
  );
  let output = '';
  server.child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  server.child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  try {
    const gw = await mqtt.connectAsync(server.mqtt, { clientId: 'gw-river', username: 'gw-river', password, protocolVersion: 4, reconnectPeriod: 0 });
    // Long Biên above level II: an alert opens and its webhook fails twice.
    await gw.publishAsync('sensors/flood-longbien/reading', JSON.stringify({ ts: Date.now() - 60_000, seq: 1, values: { level_m: 10.6 } }), { qos: 1 });
    await gw.endAsync(true);
    const line = await eventually(
      async () => output.split('\n').find((l) => l.includes('alert webhook not delivered')),
      20_000,
      'the failed delivery logged',
    );
    expect(JSON.parse(line) as { url: string }).toMatchObject({ url: 'http://***@127.0.0.1:9/hook?***' });
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  expect(output).not.toContain(SECRET);
});
