// The /ws/live connection: readings as they arrive, reconnecting by itself with a capped,
// jittered backoff, and its state ('connecting' | 'live' | 'offline') for the header indicator.
import type { LiveMessage } from './types.ts';

export type LiveState = 'connecting' | 'live' | 'offline';

export interface Live {
  state(): LiveState;
  onState(fn: (s: LiveState) => void): () => void;
  onReading(fn: (r: LiveMessage) => void): () => void;
  close(): void;
}

export interface LiveOptions {
  readonly path?: string;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export function connectLive(opts: LiveOptions = {}): Live {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${opts.path ?? '/ws/live'}`;
  const minMs = opts.minBackoffMs ?? 1000;
  const maxMs = opts.maxBackoffMs ?? 15_000;
  const stateFns = new Set<(s: LiveState) => void>();
  const readingFns = new Set<(r: LiveMessage) => void>();
  let state: LiveState = 'connecting';
  let attempt = 0;
  let ws: WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const setState = (s: LiveState) => {
    if (s === state) return;
    state = s;
    stateFns.forEach((f) => f(s));
  };

  const open = () => {
    ws = new WebSocket(url);
    ws.onopen = () => {
      attempt = 0;
      setState('live');
    };
    ws.onmessage = (ev) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'reading') readingFns.forEach((f) => f(msg as LiveMessage));
    };
    ws.onclose = () => {
      ws = undefined;
      if (closed) return;
      setState('offline');
      const delay = Math.min(maxMs, minMs * 2 ** attempt++) * (0.75 + Math.random() * 0.5);
      timer = setTimeout(open, delay);
    };
  };
  // A laptop waking up or a phone back on the network: try again at once.
  const retryNow = () => {
    if (ws || closed) return;
    clearTimeout(timer);
    attempt = 0;
    open();
  };
  window.addEventListener('online', retryNow);
  open();

  return {
    state: () => state,
    onState(fn) {
      stateFns.add(fn);
      return () => stateFns.delete(fn);
    },
    onReading(fn) {
      readingFns.add(fn);
      return () => readingFns.delete(fn);
    },
    close() {
      closed = true;
      clearTimeout(timer);
      window.removeEventListener('online', retryNow);
      ws?.close();
    },
  };
}
