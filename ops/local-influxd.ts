// Runs a private influxd (Debian's InfluxDB 1.x) with its data in a project folder, on free ports,
// for `npm start`, the tests and the benchmarks. It never touches a system-wide InfluxDB.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface LocalInfluxd {
  readonly url: string;
  readonly httpPort: number;
  /** `host:port` of its backup/restore RPC service (`influxd backup -host`). */
  readonly rpcAddress: string;
  /** The running process's pid (a new one after restart()). */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. Keeps the folder. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (fault tests). Keeps the folder. */
  kill(): Promise<void>;
  /**
   * After stop() or kill(): runs influxd again with the same config — the same ports, meta, data
   * and wal folders — and resolves once it answers /ping. Fails if a port was taken meanwhile.
   */
  restart(): Promise<void>;
}

export interface LocalInfluxdOptions {
  /** Folder for meta/, data/, wal/, the generated config and the log. */
  readonly dir: string;
  /** HTTP port to try first; a free one is chosen when it is taken. 0 = any free port. */
  readonly preferredHttpPort?: number;
  readonly readyTimeoutMs?: number;
  /** How often influxd enforces retention policies (Go duration; influxd's default is 30m). Tests shorten it. */
  readonly retentionCheckInterval?: string;
}

export class InfluxdStartError extends Error {
  override readonly name = 'InfluxdStartError';
}

/** A port that is free now (bound and released), preferring `preferred`. */
const tryPort = (port: number) =>
    new Promise<number | undefined>((done) => {
      const srv = createServer();
      srv.once('error', () => done(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        const got = typeof addr === 'object' && addr ? addr.port : undefined;
        srv.close(() => done(got));
      });
    });

export async function freePort(preferred = 0): Promise<number> {
  if (preferred > 0) {
    const got = await tryPort(preferred);
    if (got !== undefined) return got;
  }
  const any = await tryPort(0);
  if (any === undefined) throw new InfluxdStartError('no free TCP port on 127.0.0.1');
  return any;
}

/** The kernel's ephemeral ports (what listen(0) and outgoing connections are handed). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(low) && low > 2048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A free port for a server that must get the same one back after a restart (a test stops it for a
 * while): taken below the kernel's ephemeral range, so no listen(0) of another process (freePort)
 * or outgoing connection is handed it meanwhile — the race a port from listen(0) loses once the
 * server is down. Random within up to 12,000 ports below that range; `preferred` first.
 */
export async function restartablePort(preferred = 0, not: readonly number[] = []): Promise<number> {
  if (preferred > 0 && !not.includes(preferred) && (await tryPort(preferred)) === preferred) return preferred;
  const high = ephemeralLow();
  const low = Math.max(1025, high - 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (!not.includes(port) && (await tryPort(port)) === port) return port;
  }
  throw new InfluxdStartError(`no free TCP port on 127.0.0.1 between ${low} and ${high}`);
}

function configText(dir: string, httpPort: number, rpcPort: number, retentionCheckInterval = '30m'): string {
  // influxd 1.6 option names; [monitor] store-enabled=false keeps the _internal database out.
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dir, 'meta')}"
[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false
  cache-max-memory-size = "1g"
  max-values-per-tag = 0
  max-series-per-database = 0
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
  max-body-size = 0
  max-row-limit = 0
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
[retention]
  enabled = true
  check-interval = "${retentionCheckInterval}"
`;
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new InfluxdStartError(`influxd exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 204) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new InfluxdStartError(`influxd did not answer /ping within ${timeoutMs} ms`);
}

/** A running influxd of `configPath`, ready once it answers /ping. */
interface Run {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

async function run(dir: string, configPath: string, url: string, readyTimeoutMs: number): Promise<Run> {
  const logFd = openSync(join(dir, 'influxd.log'), 'a');
  const child = spawn('influxd', ['run', '-config', configPath], {
    stdio: ['ignore', logFd, logFd],
    detached: false,
  });
  closeSync(logFd);
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new InfluxdStartError(
          `cannot run influxd (${err.message}); install it with: apt-get update && apt-get install -y influxdb`,
          { cause: err },
        ),
      ),
    ),
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await Promise.race([waitForPing(url, child, readyTimeoutMs), spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err instanceof InfluxdStartError
      ? new InfluxdStartError(`${err.message}; see ${join(dir, 'influxd.log')}`, { cause: err })
      : err;
  }
  return { child, exited };
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

export async function startLocalInfluxd(opts: LocalInfluxdOptions): Promise<LocalInfluxd> {
  const dir = resolve(opts.dir);
  for (const sub of ['meta', 'data', 'wal']) mkdirSync(join(dir, sub), { recursive: true });
  // Below the ephemeral range: restart() binds them again after the server was down a while.
  const httpPort = await restartablePort(opts.preferredHttpPort ?? 0);
  const rpcPort = await restartablePort(0, [httpPort]);
  const configPath = join(dir, 'influxd.conf');
  writeFileSync(configPath, configText(dir, httpPort, rpcPort, opts.retentionCheckInterval));
  const url = `http://127.0.0.1:${httpPort}`;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  let current = await run(dir, configPath, url, readyTimeoutMs);
  const stop = async (graceMs = 10_000) => {
    const { child, exited } = current;
    if (!running(child)) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    const { child, exited } = current;
    if (!running(child)) return;
    child.kill('SIGKILL');
    await exited;
  };
  const restart = async () => {
    if (running(current.child)) throw new InfluxdStartError('influxd is still running: stop() or kill() it first');
    // Else a server that took the port meanwhile would answer the /ping meant for this one.
    for (const port of [httpPort, rpcPort]) {
      if ((await freePort(port)) !== port) throw new InfluxdStartError(`port ${port} was taken meanwhile`);
    }
    current = await run(dir, configPath, url, readyTimeoutMs);
  };
  return {
    url,
    httpPort,
    rpcAddress: `127.0.0.1:${rpcPort}`,
    get pid() {
      return current.child.pid ?? -1;
    },
    stop,
    kill,
    restart,
  };
}
