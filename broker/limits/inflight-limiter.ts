// Bounds the publishes one client has awaiting acknowledgement (inside the ingest pipeline). At the
// bound the broker stops reading that client's socket, so TCP backpressure slows the gateway
// instead of memory growing; reading resumes at half the bound. Nothing is dropped: MQTT 3.1.1 has
// no receive maximum to announce (MQTT 5's Receive Maximum is the missing piece), so backpressure
// is the polite answer. Aedes hands over every packet of a read it already made (one read may hold
// hundreds of publishes); those beyond the bound wait here, in order, before entering the pipeline.
// Answers go back to Aedes in the order the publishes arrived, so PUBACKs keep their order
// [MQTT-4.6.0-2] even when a later publish is durable first (an earlier one may also wait for the
// alert journal).
import type { Client, PublishPacket } from 'aedes';

type AuthorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => void;

/** What the client's connection must offer: GuardedConnection does. */
interface Holdable {
  hold(): void;
  release(): void;
}
const holdable = (conn: unknown): Holdable | undefined =>
  conn && typeof (conn as Holdable).hold === 'function' ? (conn as Holdable) : undefined;

export interface InflightEvents {
  /** The client reached the bound: its socket stops being read. */
  onHeld(client: Client): void;
  /** A publish of the client entered the pipeline; `inflight` is how many of its are inside now. */
  onInflight?(inflight: number): void;
}

export function limitInflight(maxInflight: number, hook: AuthorizePublish, events: InflightEvents): AuthorizePublish {
  interface Answer {
    done: boolean;
    err: Error | null | undefined;
    readonly callback: (error?: Error | null) => void;
  }
  const state = new WeakMap<Client, { inflight: number; waiting: (() => void)[]; held: boolean; answers: Answer[] }>();
  return (client, packet, callback) => {
    const conn = client ? holdable(client.conn) : undefined;
    if (client === null || !conn) return hook(client, packet, callback);
    let st = state.get(client);
    if (!st) state.set(client, (st = { inflight: 0, waiting: [], held: false, answers: [] }));
    const s = st;
    const answer: Answer = { done: false, err: undefined, callback };
    s.answers.push(answer);
    if (s.inflight + s.waiting.length + 1 >= maxInflight && !s.held) {
      s.held = true;
      conn.hold();
      events.onHeld(client);
    }
    const enter = () => {
      s.inflight++;
      events.onInflight?.(s.inflight);
      hook(client, packet, (err) => {
        s.inflight--;
        if (s.held && s.inflight + s.waiting.length <= maxInflight / 2) {
          s.held = false;
          conn.release();
        }
        const next = s.waiting.shift();
        // Not from this stack: a hook that answers synchronously would otherwise recurse per waiter.
        if (next) queueMicrotask(next);
        answer.done = true;
        answer.err = err;
        // Answer every publish that is done and has no unanswered one before it.
        let n = 0;
        while (n < s.answers.length && s.answers[n]!.done) n++;
        for (const a of s.answers.splice(0, n)) a.callback(a.err);
      });
    };
    if (s.inflight < maxInflight) enter();
    else s.waiting.push(enter);
  };
}
