// Bounds the publishes one client has awaiting acknowledgement (inside the ingest pipeline). At the
// bound the broker stops reading that client's socket, so TCP backpressure slows the gateway
// instead of memory growing; reading resumes at half the bound. Nothing is dropped: MQTT 3.1.1 has
// no receive maximum to announce (MQTT 5's Receive Maximum is the missing piece), so backpressure
// is the polite answer. Bytes already read from the socket (one chunk) are still handled.
import type { Client, PublishPacket } from 'aedes';

type AuthorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;

/** What the client's connection must offer: GuardedConnection does. */
interface Holdable {
  hold(): void;
  release(): void;
}
const holdable = (conn: unknown): Holdable | undefined =>
  conn && typeof (conn as Holdable).hold === 'function' ? (conn as Holdable) : undefined;

export function limitInflight(maxInflight: number, hook: AuthorizePublish, onHeld: (client: Client) => void): AuthorizePublish {
  const state = new WeakMap<Client, { inflight: number; held: boolean }>();
  return (client, packet, callback) => {
    const conn = client ? holdable(client.conn) : undefined;
    if (client === null || !conn) return hook(client, packet, callback);
    let st = state.get(client);
    if (!st) state.set(client, (st = { inflight: 0, held: false }));
    const s = st;
    if (++s.inflight >= maxInflight && !s.held) {
      s.held = true;
      conn.hold();
      onHeld(client);
    }
    hook(client, packet, (err) => {
      if (--s.inflight <= maxInflight / 2 && s.held) {
        s.held = false;
        conn.release();
      }
      callback(err);
    });
  };
}
