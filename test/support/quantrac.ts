// Starts a real quantrac server in the test process (real broker on TCP, real HTTP, real InfluxDB)
// with its own data folder and database, and gateways with generated credentials.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { parseConfig } from '../../server/config.ts';
import { startQuantrac, type Quantrac } from '../../server/create-quantrac.ts';
import { influxUrl, uniqueDatabase } from './influx.ts';

export interface TestQuantrac {
  readonly q: Quantrac;
  readonly database: string;
  readonly dataDir: string;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  /** Creates a credential for the gateway and connects it (clientId = username = gateway id). */
  connectGateway(gatewayId: string, extra?: mqtt.IClientOptions): Promise<MqttClient>;
  stop(): Promise<void>;
}

/** `log`: where the server logs (default: silent, or TEST_LOG_LEVEL to stdout). */
export async function startTestQuantrac(env: Record<string, string> = {}, opts: { log?: pino.Logger } = {}): Promise<TestQuantrac> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'quantrac-test-'));
  const database = env.INFLUX_DATABASE ?? uniqueDatabase();
  const config = parseConfig({
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: database,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dataDir,
    WRITE_FLUSH_INTERVAL_MS: '20',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const q = await startQuantrac(config, opts.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  const { mqtt: mqttUrl, http: httpUrl } = q.urls();
  const clients: MqttClient[] = [];
  return {
    q,
    database,
    dataDir,
    mqttUrl,
    httpUrl,
    async connectGateway(gatewayId, extra = {}) {
      const password = await setGatewayPassword(config.credentialsPath, gatewayId);
      const client = await mqtt.connectAsync(mqttUrl, {
        clientId: gatewayId,
        username: gatewayId,
        password,
        protocolVersion: 4,
        reconnectPeriod: 0,
        ...extra,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await q.stop();
      if (!env.DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
