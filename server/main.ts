// Entry of the quantrac server process: the only file that touches process, signals and exit.
import pino from 'pino';
import { parseConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { startQuantrac } from './create-quantrac.ts';
import { startAlertsRole } from './roles/alerts.ts';
import { startApiRole } from './roles/api.ts';
import { startEdge } from './roles/edge.ts';
import { startWriter } from './roles/writer.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });

// A bug that escaped every handler leaves the process in an unknown state: log it with its stack
// (pino writes stdout synchronously; flushed anyway), and exit at once with a non-zero code so the
// supervisor restarts the process. No graceful stop from an unknown state: what was acknowledged is
// in the spool on disk and is replayed at the next start.
const EXIT_SOFTWARE = 70; // sysexits.h EX_SOFTWARE: an internal error
const crash = (kind: 'uncaughtException' | 'unhandledRejection' | 'servicesThread') => (err: unknown) => {
  try {
    log.fatal({ err, kind }, `quantrac crashed (${kind}); exiting for the supervisor to restart it`);
    log.flush();
  } finally {
    process.exit(EXIT_SOFTWARE);
  }
};
process.on('uncaughtException', crash('uncaughtException'));
process.on('unhandledRejection', crash('unhandledRejection'));

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const roles = { all: startQuantrac, edge: startEdge, writer: startWriter, alerts: startAlertsRole, api: startApiRole } as const;
  const q = await roles[config.QUANTRAC_ROLE](config, log);
  const { mqtt, http } = q.urls();
  // A bug that ended the services thread (API, store lane, alerts) is a crash of the process too.
  if ('failed' in q && q.failed instanceof Promise) void q.failed.then(crash('servicesThread'));
  log.info({ mqtt, http }, 'quantrac is running');
  // A service manager signals the whole process group, and npm start (ops/start.ts) forwards the
  // signal too, so one stop request can arrive twice: repeats are the same graceful stop. Only a
  // SIGINT a second or more after the first (Ctrl-C pressed again) skips the drain.
  let first: { signal: string; atMs: number } | undefined;
  const shutdown = (signal: string) => {
    if (first) {
      if (signal === 'SIGINT' && Date.now() - first.atMs >= 1000) {
        log.warn('second Ctrl-C: exiting now (spooled readings are replayed at the next start)');
        process.exit(130);
      }
      log.info({ signal }, 'already shutting down');
      return;
    }
    first = { signal, atMs: Date.now() };
    log.info({ signal }, 'shutting down');
    q.stop().then(
      () => {
        log.info('stopped gracefully');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  if (process.send) process.send({ type: 'ready', mqtt, http });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  log.fatal({ err }, 'quantrac failed to start');
  process.exit(1);
});
