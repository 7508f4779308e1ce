// A real local HTTP server standing in for an alert webhook endpoint: each request's whole body
// is handed to `onHook`, whose answer is the HTTP status sent back.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  /** http://127.0.0.1:port (no path). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver(onHook: (raw: Buffer, req: IncomingMessage) => number): Promise<WebhookReceiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.writeHead(onHook(Buffer.concat(chunks), req)).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
