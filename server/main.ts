// Entry of the quantrac server process: the only file that touches process, signals and exit.
import pino from 'pino';
import { parseConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { startQuantrac } from './create-quantrac.ts';

const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const q = await startQuantrac(config, log);
  const { mqtt, http } = q.urls();
  log.info({ mqtt, http }, 'quantrac is running');
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      log.warn('second signal: exiting now (spooled readings are replayed at the next start)');
      process.exit(130);
    }
    log.info({ signal }, 'shutting down');
    q.stop().then(
      () => process.exit(0),
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
