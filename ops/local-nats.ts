// Runs a private NATS cluster (Debian's nats-server) with JetStream on one machine, on free ports,
// its data in a project folder: for `npm run cluster`, the cluster tests and `bench --cluster`.
// Each server is a separate process so a test can SIGKILL one (the stream leader) and restart it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { restartablePort } from './local-influxd.ts';

export class NatsStartError extends Error {
  override readonly name = 'NatsStartError';
}

/** How often the file store syncs: the server's default interval (2 min), a duration, or `always` (nats-server 2.10+). */
export type NatsSyncInterval = 'default' | 'always' | `${number}s` | `${number}m`;

export interface LocalNatsOptions {
  /** Folder for each server's JetStream store, config and log. */
  readonly dir: string;
  /** Servers in the cluster (3 for R3 streams). */
  readonly size?: number;
  /** Client port of the first server to try first (0 = any free port). */
  readonly preferredClientPort?: number;
  readonly syncInterval?: NatsSyncInterval;
  readonly readyTimeoutMs?: number;
}

export interface LocalNatsServer {
  readonly name: string;
  readonly url: string;
  readonly monitorUrl: string;
  pid(): number;
  isRunning(): boolean;
  /** SIGKILL (fault tests); resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again with the same config and store (after kill). */
  restart(): Promise<void>;
}

export interface LocalNatsCluster {
  readonly servers: readonly LocalNatsServer[];
  /** Client URLs of every server, for the clients' server list. */
  readonly urls: readonly string[];
  server(name: string): LocalNatsServer | undefined;
  /** SIGTERM every server, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** `nats-server --version` as [major, minor], or undefined when it is not installed. */
export function natsServerVersion(): [number, number] | undefined {
  try {
    const out = execFileSync('nats-server', ['--version'], { encoding: 'utf8' });
    const m = /v(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  } catch {
    return undefined;
  }
}

const INSTALL_HINT = 'install it with: apt-get update && apt-get install -y nats-server';

/** The `jetstream {}` line for the sync interval; `always` exists only from nats-server 2.10 on. */
export function syncIntervalLine(sync: NatsSyncInterval, version: [number, number]): string {
  if (sync === 'default') return '';
  const [major, minor] = version;
  if (major < 2 || (major === 2 && minor < 10)) {
    throw new NatsStartError(
      `NATS_SYNC_INTERVAL=${sync} needs nats-server 2.10 or newer (this one is ${major}.${minor}); ` +
        'leave it at `default`: durability then rests on the quorum of replicas (see README, cluster guarantee)',
    );
  }
  return `  sync_interval: ${sync}\n`;
}

interface Ports {
  client: number;
  cluster: number;
  monitor: number;
}

function configText(name: string, dir: string, own: Ports, all: readonly Ports[], syncLine: string): string {
  const routes = all.filter((p) => p !== own).map((p) => `    nats-route://127.0.0.1:${p.cluster}`);
  return `server_name: ${name}
listen: 127.0.0.1:${own.client}
http: 127.0.0.1:${own.monitor}
max_payload: 1MB
jetstream {
  store_dir: "${join(dir, name)}"
  max_memory_store: 64MB
  max_file_store: 4GB
${syncLine}}
cluster {
  name: quantrac
  listen: 127.0.0.1:${own.cluster}
  routes: [
${routes.join('\n')}
  ]
}
`;
}

/** Below the ephemeral range (restartablePort): a server SIGKILLed and restarted gets its ports back. */
async function distinctFreePorts(count: number, preferredFirst: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await restartablePort(ports.length === 0 ? preferredFirst : 0, ports));
  return ports;
}

/** Resolves once the server's monitoring endpoint answers /healthz with 200 (JetStream up). */
async function waitHealthy(monitorUrl: string, child: ChildProcess, timeoutMs: number, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new NatsStartError(`nats-server exited with code ${child.exitCode}; see ${log}`);
    try {
      const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new NatsStartError(`nats-server did not become healthy within ${timeoutMs} ms; see ${log}`);
}

export async function startLocalNatsCluster(opts: LocalNatsOptions): Promise<LocalNatsCluster> {
  const version = natsServerVersion();
  if (!version) throw new NatsStartError(`cannot run nats-server; ${INSTALL_HINT}`);
  const syncLine = syncIntervalLine(opts.syncInterval ?? 'default', version);
  const dir = resolve(opts.dir);
  const size = opts.size ?? 3;
  const flat = await distinctFreePorts(size * 3, opts.preferredClientPort ?? 0);
  const ports: Ports[] = Array.from({ length: size }, (_, i) => ({ client: flat[i]!, cluster: flat[size + i]!, monitor: flat[2 * size + i]! }));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;

  const servers = ports.map((own, i): LocalNatsServer & { start(): Promise<void>; stop(graceMs: number): Promise<void> } => {
    const name = `n${i + 1}`;
    mkdirSync(join(dir, name), { recursive: true });
    const configPath = join(dir, `${name}.conf`);
    const logPath = join(dir, `${name}.log`);
    writeFileSync(configPath, configText(name, dir, own, ports, syncLine));
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    const monitorUrl = `http://127.0.0.1:${own.monitor}`;
    const start = async () => {
      const logFd = openSync(logPath, 'a');
      const c = spawn('nats-server', ['-c', configPath], { stdio: ['ignore', logFd, logFd] });
      closeSync(logFd);
      child = c;
      exited = new Promise((r) => c.once('exit', () => r()));
      const spawnError = new Promise<never>((_, reject) =>
        c.once('error', (err) => reject(new NatsStartError(`cannot run nats-server (${err.message}); ${INSTALL_HINT}`, { cause: err }))),
      );
      try {
        await Promise.race([waitHealthy(monitorUrl, c, readyTimeoutMs, logPath), spawnError]);
      } catch (err) {
        c.kill('SIGKILL');
        throw err;
      }
    };
    const stop = async (graceMs: number) => {
      if (!running()) return;
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    };
    return {
      name,
      url: `nats://127.0.0.1:${own.client}`,
      monitorUrl,
      pid: () => child?.pid ?? -1,
      isRunning: running,
      kill: async () => {
        if (!running()) return;
        child!.kill('SIGKILL');
        await exited;
      },
      restart: start,
      start,
      stop,
    };
  });

  const stop = async (graceMs = 10_000) => {
    await Promise.all(servers.map((s) => s.stop(graceMs)));
  };
  try {
    // Started together: a server's JetStream becomes healthy only once it has met its routes.
    await Promise.all(servers.map((s) => s.start()));
  } catch (err) {
    await stop(1000);
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url),
    server: (name) => servers.find((s) => s.name === name),
    stop,
  };
}
