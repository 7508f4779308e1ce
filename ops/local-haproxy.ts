// HAProxy (Debian's haproxy 2.6) in front of the cluster's MQTT edges: TCP mode, MQTT CONNECT
// checked, sticky by MQTT client id (a gateway keeps its edge across reconnects while that edge
// lives; redispatched when it dies), the PROXY protocol v2 to the edges so their per-address limits
// see the gateway's address. For `npm run cluster` and the cluster tests; the production layout
// in the README uses the same configuration text.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

export class HaproxyStartError extends Error {
  override readonly name = 'HaproxyStartError';
}

export interface HaproxyEdge {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface HaproxyOptions {
  readonly dir: string;
  readonly bindHost: string;
  readonly port: number;
  readonly edges: readonly HaproxyEdge[];
}

/** The configuration text (HAProxy 2.6 keywords; `mqtt_field_value` and `mqtt_is_valid` exist since 2.4). */
export function haproxyConfig(o: Omit<HaproxyOptions, 'dir'>): string {
  const servers = o.edges.map((e) => `  server ${e.name} ${e.host}:${e.port} check inter 500 fall 2 rise 1 send-proxy-v2 check-send-proxy`);
  return `global
  maxconn 8000
defaults
  mode tcp
  timeout connect 2s
  timeout client 10m
  timeout server 10m
  option redispatch
  retries 3
frontend mqtt
  bind ${o.bindHost}:${o.port}
  tcp-request inspect-delay 5s
  tcp-request content reject unless { req.payload(0,0),mqtt_is_valid }
  default_backend edges
backend edges
  balance leastconn
  stick-table type string len 64 size 200k expire 24h
  stick on req.payload(0,0),mqtt_field_value(connect,client_identifier)
${servers.join('\n')}
`;
}

export interface LocalHaproxy {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

async function waitListening(host: string, port: number, child: ChildProcess, timeoutMs: number, log: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new HaproxyStartError(`haproxy exited with code ${child.exitCode}; see ${log}`);
    const up = await new Promise<boolean>((r) => {
      const s = connect(port, host === '0.0.0.0' ? '127.0.0.1' : host);
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new HaproxyStartError(`haproxy did not listen on ${port} within ${timeoutMs} ms; see ${log}`);
}

export async function startLocalHaproxy(o: HaproxyOptions): Promise<LocalHaproxy> {
  const dir = resolve(o.dir);
  const configPath = join(dir, 'haproxy.cfg');
  const logPath = join(dir, 'haproxy.log');
  writeFileSync(configPath, haproxyConfig(o));
  const fd = openSync(logPath, 'a');
  const child = spawn('haproxy', ['-db', '-f', configPath], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new HaproxyStartError(`cannot run haproxy (${err.message}); install it with: apt-get update && apt-get install -y haproxy`, { cause: err }))),
  );
  const exited = once(child, 'exit');
  try {
    await Promise.race([waitListening(o.bindHost, o.port, child, 10_000, logPath), spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    pid: child.pid ?? -1,
    port: o.port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
