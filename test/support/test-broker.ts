// A real broker (broker/create-broker.ts) in process on a free port with permissive limits, for
// tests of one broker feature (credentials, PROXY protocol); options override the defaults.
import pino from 'pino';
import { startBroker, type Broker, type BrokerEvents, type BrokerOptions } from '../../broker/create-broker.ts';

export function startTestBroker(overrides: Partial<BrokerOptions>, events: BrokerEvents = {}): Promise<Broker> {
  return startBroker(
    {
      host: '127.0.0.1',
      port: 0,
      allowAnonymous: false,
      credentials: undefined,
      drainTimeoutMs: 5000,
      stationGateway: () => undefined,
      denyAction: 'ignore',
      maxPacketBytes: 65536,
      addressLimits: { maxConnections: 64, burst: 1000, windowMs: 10_000, banMs: 1000 },
      maxInflight: 10,
      ...overrides,
    },
    { onPublish: async () => undefined },
    pino({ level: 'silent' }),
    events,
  );
}
