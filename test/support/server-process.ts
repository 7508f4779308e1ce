// Runs the quantrac server as a separate process (the real entry, server/main.ts), for tests that
// kill it with SIGKILL or stop it with SIGTERM.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { influxUrl } from './influx.ts';

const ENTRY = fileURLToPath(new URL('../../server/main.ts', import.meta.url));

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly mqtt: string;
  readonly http: string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>;
}

/** Settings of a server process under test: the test InfluxDB, its own database and data folder, free local ports. */
export const serverProcessEnv = (database: string, dataDir: string): Record<string, string> => ({
  INFLUX_URL: influxUrl(),
  INFLUX_DATABASE: database,
  DATA_DIR: dataDir,
  MQTT_HOST: '127.0.0.1',
  MQTT_PORT: '0',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  LOG_LEVEL: 'warn',
});

/** `execArgv`: Node options (e.g. `--import` of a test preload); `stdout`/`stderr: 'pipe'` to read the logs. */
export async function startServerProcess(env: Record<string, string>, opts: { execArgv?: string[]; stdout?: 'inherit' | 'pipe'; stderr?: 'inherit' | 'pipe' } = {}): Promise<ServerProcess> {
  const child = fork(ENTRY, [], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    execArgv: opts.execArgv ?? [],
    stdio: ['ignore', opts.stdout ?? 'inherit', opts.stderr ?? 'inherit', 'ipc'],
  });
  const exited = new Promise<number | string>((r) => child.once('exit', (code, signal) => r(signal ?? code ?? -1)));
  const ready = await Promise.race([
    new Promise<{ mqtt: string; http: string }>((r) => child.once('message', (m) => r(m as { mqtt: string; http: string }))),
    exited.then((c) => {
      throw new Error(`server exited before it was ready (${c})`);
    }),
  ]);
  return { child, exited, ...ready };
}

/** The alert partitions a cluster role process says it owns (`/healthz`), or undefined when it does not answer. */
export async function partitionsOf(p: ServerProcess): Promise<number[] | undefined> {
  try {
    const res = await fetch(`${p.http}/healthz`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { partitions: number[] }).partitions;
  } catch {
    return undefined;
  }
}

/**
 * A cluster's two alert evaluators (alerts-1, alerts-2: one ends up the standby) and one API
 * process; each is also added to `started` (for stopProcesses).
 */
export async function startAlertRoles(env: Record<string, string>, started: ServerProcess[]): Promise<{ evaluators: ServerProcess[]; api: ServerProcess }> {
  const evaluators: ServerProcess[] = [];
  for (const name of ['alerts-1', 'alerts-2']) {
    const p = await startServerProcess({ ...env, QUANTRAC_ROLE: 'alerts', QUANTRAC_NAME: name });
    started.push(p);
    evaluators.push(p);
  }
  const api = await startServerProcess({ ...env, QUANTRAC_ROLE: 'api' });
  started.push(api);
  return { evaluators, api };
}

/** SIGTERM to each process still running, one after the other, waiting for each to exit. */
export async function stopProcesses(procs: readonly ServerProcess[]): Promise<void> {
  for (const p of procs) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
}
