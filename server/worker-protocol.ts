// Messages between the broker thread (server/create-quantrac.ts) and the services thread
// (server/services-worker.ts). The broker thread owns the broker and the log's appends; the
// services thread owns every consumer of the log, the API and the WebSockets.
import type { Config } from './config.ts';
import type { LogCommand } from '../ingest/log/records.ts';

export interface ServicesInit {
  readonly config: Readonly<Config>;
  readonly logLevel: string;
  /** The log's committed end when the services start. */
  readonly logEnd: number;
}

/** Broker thread → services thread. */
export type ToServices =
  | { readonly type: 'log-end'; readonly end: number }
  | { readonly type: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string }
  | { readonly type: 'flushed' | 'rollups-flushed' | 'rebuild-now-view'; readonly id: number }
  /** The log is past half its bound: snapshot now, so that what the consumers passed can be released. */
  | { readonly type: 'snapshot-soon' }
  | { readonly type: 'stop'; readonly drainMs: number };

/** Services thread → broker thread. */
export type ToBroker =
  | { readonly type: 'ready'; readonly httpPort: number }
  | { readonly type: 'start-failed'; readonly message: string; readonly problems?: readonly string[] }
  | { readonly type: 'publish'; readonly topic: string; readonly payload: string; readonly qos: 0 | 1 }
  /** Every consumer has passed `position`: the log may delete what lies wholly before it. */
  | { readonly type: 'release'; readonly position: number }
  | { readonly type: 'request'; readonly id: number; readonly op: 'append-command'; readonly command: LogCommand & { readonly id: string } }
  | { readonly type: 'request'; readonly id: number; readonly op: 'broker-metrics' | 'readiness' }
  | { readonly type: 'reply'; readonly id: number; readonly value?: unknown }
  | { readonly type: 'now-view-ready' }
  | { readonly type: 'stopped' };
