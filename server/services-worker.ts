// Entry of the services thread (a worker_thread of the quantrac process): the only file of this
// thread that touches parentPort. It runs every consumer of the durable log, the API and the
// WebSockets (create-services.ts) and talks to the broker thread through worker-protocol.ts.
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import type { LogCommand } from '../ingest/log/records.ts';
import { ConfigError } from './errors.ts';
import { startServices, type Services } from './create-services.ts';
import type { ServicesInit, ToBroker, ToServices } from './worker-protocol.ts';

const port = parentPort!;
const init = workerData as ServicesInit;
const log = pino({ level: init.logLevel }).child({ thread: 'services' });
const send = (m: ToBroker) => port.postMessage(m);

let nextId = 1;
const replies = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
function request<T>(m: { op: 'append-command'; command: LogCommand & { id: string } } | { op: 'broker-metrics' | 'readiness' }): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    replies.set(id, { resolve: resolve as (v: unknown) => void, reject });
    send({ type: 'request', id, ...m } as ToBroker);
  });
}

let services: Services | undefined;
let pendingEnd = init.logEnd;

port.on('message', (m: ToServices) => {
  switch (m.type) {
    case 'log-end':
      pendingEnd = Math.max(pendingEnd, m.end);
      services?.setLogEnd(m.end);
      break;
    case 'reply': {
      const r = replies.get(m.id);
      replies.delete(m.id);
      if (m.error) r?.reject(new Error(m.error));
      else r?.resolve(m.value);
      break;
    }
    case 'snapshot-soon':
      services?.snapshotSoon();
      break;
    case 'flushed':
    case 'rollups-flushed':
    case 'rebuild-now-view': {
      const done = () => send({ type: 'reply', id: m.id });
      const work = !services ? Promise.resolve() : m.type === 'flushed' ? services.flushed() : m.type === 'rollups-flushed' ? services.rollupsFlushed() : services.rebuildNowView();
      void work.then(done, (err: unknown) => {
        log.error({ err, request: m.type }, 'request from the broker thread failed');
        done();
      });
      break;
    }
    case 'stop':
      void (services ? services.stop(m.drainMs) : Promise.resolve())
        .catch((err: unknown) => log.error({ err }, 'services did not stop cleanly'))
        .then(() => {
          send({ type: 'stopped' });
          port.close();
        });
      break;
  }
});

startServices(init.config, log, init.logEnd, {
  publish: (topic, payload, qos = 0) => send({ type: 'publish', topic, payload, qos }),
  appendCommand: (command) => request<void>({ op: 'append-command', command }),
  release: (position) => send({ type: 'release', position }),
  nowViewReady: () => send({ type: 'now-view-ready' }),
  brokerMetrics: () => request<unknown[]>({ op: 'broker-metrics' }),
  readiness: () => request<Record<string, string | undefined>>({ op: 'readiness' }),
}).then(
  (s) => {
    services = s;
    s.setLogEnd(pendingEnd);
    send({ type: 'ready', httpPort: s.httpPort });
  },
  (err: unknown) => {
    if (err instanceof ConfigError) send({ type: 'start-failed', message: err.message, problems: err.problems });
    else {
      log.error({ err }, 'services failed to start');
      send({ type: 'start-failed', message: err instanceof Error ? err.message : String(err) });
    }
  },
);
