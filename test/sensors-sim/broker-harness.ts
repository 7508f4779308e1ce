// Test harness: a bare in-process Aedes broker on a real TCP port that can go down and come back
// on the same port, recording every client and every published message.
import net from 'node:net';
import { Aedes } from 'aedes';

export interface Received {
  readonly clientId: string | undefined;
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  readonly retain: boolean;
}

export interface TestBroker {
  readonly port: number;
  readonly url: string;
  readonly received: Received[];
  readonly connects: { clientId: string; username: string | undefined; password: string | undefined }[];
  /** Stops listening and cuts every connection (clients see the broker vanish). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestBroker(opts: { credentials?: Record<string, string> } = {}): Promise<TestBroker> {
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      connects.push({ clientId: client.id, username, password: password?.toString() });
      if (!opts.credentials) return done(null, true);
      const ok = username === client.id && opts.credentials[client.id] === password?.toString();
      done(null, ok);
    },
  });
  const received: Received[] = [];
  const connects: TestBroker['connects'] = [];
  broker.on('publish', (packet, client) => {
    if (!client) return; // broker's own $SYS and will deliveries are not client publishes
    received.push({ clientId: client.id, topic: packet.topic, payload: packet.payload.toString(), qos: packet.qos, retain: packet.retain });
  });
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        broker.handle(socket);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as net.AddressInfo).port));
    });
  const port = await listen(0);
  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    received,
    connects,
    down,
    up: async () => {
      await listen(port);
    },
    close: async () => {
      await down();
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

/** Polls `check` until it returns true or the deadline passes (STYLE.md 14: no fixed sleeps). */
export async function waitFor(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
