// Reference for the MQTT hop: the bare embedded Aedes broker handing each message to a consumer
// that does nothing. Run as its own process by bench/ingest.ts; prints its port on stdout.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker({ drainTimeout: 10_000 });
broker.subscribe('sensors/#', (_packet, done) => done(), () => undefined);
const server = createServer((socket) => broker.handle(socket));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const address = server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => broker.close(() => process.exit(0)));
