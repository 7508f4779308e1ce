// The officers' alert channel /ws/officer: authenticates each socket (token on the upgrade or in the
// first message), sends the active alerts, then every alert event as JSON. A socket whose buffer
// passes `maxBufferedBytes` is not reading and is closed (it reconnects and gets a fresh snapshot).
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Alert, AlertEvent } from '../contracts/alerts.ts';
import { BEARER_PROTOCOL_PREFIX, OfficerAuthMessageSchema, WS_CLOSE, type OfficerMessage } from '../contracts/alerts-api.ts';
import type { Principal, Role } from './auth.ts';

export interface AlertHubOptions {
  readonly verifyToken: (token: string) => Principal | undefined;
  readonly activeAlerts: () => Alert[];
  readonly roles: readonly Role[];
  readonly maxBufferedBytes: number;
  /** How long a socket without a token on the upgrade may take to send `{type:"auth"}`, ms. */
  readonly authTimeoutMs?: number;
  readonly onCount?: (n: number) => void;
  /** A failure while admitting a socket (logged by the caller); the socket is closed with 1011. */
  readonly onError?: (err: unknown) => void;
}

export interface AlertHub {
  /** The token offered on the upgrade request (bearer header or subprotocol; never the URL). */
  tokenOf(req: FastifyRequest): string | undefined;
  add(ws: WebSocket, token: string | undefined): void;
  broadcast(events: readonly AlertEvent[]): void;
  size(): number;
  close(): void;
}

export function createAlertHub(opts: AlertHubOptions): AlertHub {
  const clients = new Set<WebSocket>();
  const report = () => opts.onCount?.(clients.size);
  const send = (ws: WebSocket, m: OfficerMessage) => ws.send(JSON.stringify(m));

  function admit(ws: WebSocket, token: string): void {
    const p = opts.verifyToken(token);
    if (!p) return ws.close(WS_CLOSE.unauthorized, 'invalid or expired token');
    if (!opts.roles.includes(p.role)) return ws.close(WS_CLOSE.forbidden, `needs the role ${opts.roles.join(' or ')}`);
    // Snapshot and membership in one synchronous step: no event can fall between them.
    send(ws, { type: 'snapshot', user: p.user, at: Date.now(), alerts: opts.activeAlerts() });
    clients.add(ws);
    report();
    // A token expires: the socket is closed then, and the client logs in again.
    const t = setTimeout(() => ws.close(WS_CLOSE.unauthorized, 'token expired'), Math.max(0, p.expiresAt - Date.now()));
    t.unref();
    ws.once('close', () => clearTimeout(t));
  }

  return {
    tokenOf(req) {
      const h = req.headers.authorization;
      if (h?.startsWith('Bearer ')) return h.slice(7).trim() || undefined;
      const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      const bearer = protocols.find((s) => s.startsWith(BEARER_PROTOCOL_PREFIX));
      return bearer ? bearer.slice(BEARER_PROTOCOL_PREFIX.length) : undefined;
    },
    add(ws, token) {
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        clients.delete(ws);
        report();
      });
      if (token !== undefined) return admit(ws, token);
      const timer = setTimeout(() => ws.close(WS_CLOSE.authTimeout, 'send {"type":"auth","token":...} first'), opts.authTimeoutMs ?? 5000);
      timer.unref();
      ws.once('message', (data) => {
        clearTimeout(timer);
        let msg: unknown;
        try {
          msg = JSON.parse(String(data));
        } catch {
          msg = undefined;
        }
        const auth = OfficerAuthMessageSchema.safeParse(msg);
        if (!auth.success) return ws.close(WS_CLOSE.unauthorized, 'first message must be {"type":"auth","token":...}');
        // Inside a ws listener an exception would end the process: a failure closes this socket only.
        try {
          admit(ws, auth.data.token);
        } catch (err) {
          opts.onError?.(err);
          ws.close(1011, 'server error');
        }
      });
    },
    broadcast(events) {
      if (clients.size === 0) return;
      for (const event of events) {
        const text = JSON.stringify({ type: 'event', event } satisfies OfficerMessage);
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
