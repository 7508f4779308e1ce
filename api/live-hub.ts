// Fans durable readings out to live WebSocket clients. Each message is serialised once; a client
// whose socket buffer passes `maxBufferedBytes` is not reading and is disconnected, so one slow
// client never grows server memory without bound.
import type { WebSocket } from 'ws';
import { toLiveReading, type Reading } from '../contracts/reading.ts';

export interface LiveHub {
  add(ws: WebSocket): void;
  broadcast(readings: readonly Reading[]): void;
  size(): number;
  close(): void;
}

export interface LiveHubOptions {
  readonly maxBufferedBytes: number;
  readonly onCount?: (n: number) => void;
}

export function createLiveHub(opts: LiveHubOptions): LiveHub {
  const clients = new Set<WebSocket>();
  const report = () => opts.onCount?.(clients.size);
  return {
    add(ws) {
      clients.add(ws);
      report();
      ws.on('close', () => {
        clients.delete(ws);
        report();
      });
      ws.on('error', () => ws.terminate());
    },
    broadcast(readings) {
      if (clients.size === 0) return;
      for (const r of readings) {
        const text = JSON.stringify(toLiveReading(r));
        for (const ws of clients) {
          if (ws.readyState !== ws.OPEN) continue;
          if (ws.bufferedAmount > opts.maxBufferedBytes) {
            ws.close(1008, 'client not reading');
            ws.terminate();
            clients.delete(ws);
            continue;
          }
          ws.send(text);
        }
      }
      report();
    },
    size: () => clients.size,
    close() {
      for (const ws of clients) ws.close(1001, 'server shutting down');
      clients.clear();
    },
  };
}
