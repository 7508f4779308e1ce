// Runs the quantrac server (server/main.ts) under `strace -f` and reads the trace back as the
// kernel saw it: which files under DATA_DIR were opened for writing, what bytes went to them and
// to each accepted socket, and when each fdatasync/fsync started and completed. Tests use it for
// promises that only the syscall order can show (PUBACK after fdatasync; one write per packet).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../ops/local-influxd.ts';
import { influxUrl, uniqueDatabase } from './influx.ts';

const ENTRY = fileURLToPath(new URL('../../server/main.ts', import.meta.url));

const TRACED = ['accept4', 'accept', 'openat', 'open', 'close', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'sendmsg', 'sendto', 'fdatasync', 'fsync', 'setsockopt'];

export interface TracedServer {
  readonly child: ChildProcess;
  readonly mqtt: string;
  readonly http: string;
  readonly traceFile: string;
  /** SIGTERM, then waits for the server (and strace) to exit. */
  stop(): Promise<void>;
}

/**
 * The server with the same entry and IPC ready message as npm start, on `dataDir`, the test
 * InfluxDB (a fresh database) and free loopback ports, traced into `traceFile`.
 */
export async function startTracedServer(dataDir: string, traceFile: string, extraEnv: Record<string, string> = {}): Promise<TracedServer> {
  const env = {
    INFLUX_URL: influxUrl(),
    INFLUX_DATABASE: uniqueDatabase('traced'),
    DATA_DIR: dataDir,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: String(await freePort()),
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
    ...extraEnv,
  };
  // -f: libuv's thread pool does the file I/O; -xx: every byte as hex; -s: whole small packets.
  const args = ['-f', '-qq', '-tt', '-xx', '-s', '4096', '-e', `trace=${TRACED.join(',')}`, '-o', traceFile, process.execPath, ENTRY];
  const child = spawn('strace', args, { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = await Promise.race([
    new Promise<{ mqtt: string; http: string }>((r) => child.on('message', (m) => r(m as { mqtt: string; http: string }))),
    exited.then(() => {
      throw new Error('the traced server exited before it was ready (is strace installed and ptrace allowed?)');
    }),
  ]);
  return {
    child,
    ...ready,
    traceFile,
    async stop() {
      // To the server itself: strace keeps a signal its parent ignores ignored (test workers may).
      const server = traceePid(child.pid!);
      if (server) process.kill(server, 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The process strace started (its first child). */
function traceePid(stracePid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${stracePid}/task/${stracePid}/children`, 'utf8').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

export interface Syscall {
  readonly pid: number;
  readonly name: string;
  readonly args: string;
  readonly ret: number;
  /** Trace line where the call started and where it returned (equal unless it was interrupted). */
  readonly start: number;
  readonly end: number;
}

/** Parses `strace -f -qq -xx` output, pairing `<unfinished ...>` with `<... resumed>` by pid. */
export function parseTrace(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<number, { name: string; args: string; start: number }>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = /^(\d+)\s+(?:\d\d:\d\d:\d\d\.\d+\s+)?(.*)$/.exec(line);
    if (!m) return;
    const pid = Number(m[1]);
    const rest = m[2]!;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\)\s+= (-?\d+)/.exec(rest);
    if (resumed) {
      const p = pending.get(pid);
      pending.delete(pid);
      if (p && p.name === resumed[1]) calls.push({ pid, name: p.name, args: p.args + resumed[2]!, ret: Number(resumed[3]), start: p.start, end: i });
      return;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) return;
    const unfinished = / <unfinished \.\.\.>$/.exec(call[2]!);
    if (unfinished) {
      pending.set(pid, { name: call[1]!, args: call[2]!.slice(0, unfinished.index), start: i });
      return;
    }
    const done = /^(.*)\)\s+= (-?\d+)/.exec(call[2]!);
    if (done) calls.push({ pid, name: call[1]!, args: done[1]!, ret: Number(done[2]), start: i, end: i });
  });
  return calls;
}

/** The bytes of every quoted string in the arguments (one buffer, or the iovecs concatenated). */
function bytesOf(args: string): Buffer {
  const parts: Buffer[] = [];
  for (const m of args.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)) parts.push(Buffer.from(m[1]!.replaceAll('\\x', ''), 'hex'));
  return Buffer.concat(parts);
}

const firstInt = (args: string) => Number(/^\s*(-?\d+)/.exec(args)?.[1]);

export interface FileWrite {
  readonly path: string;
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  readonly fd: number;
}
export interface FileSync {
  readonly path: string;
  readonly fd: number;
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
}
export interface SocketWrite {
  readonly fd: number;
  /** Which accepted connection (fd numbers are reused). */
  readonly connection: number;
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
}

export interface TraceView {
  /** Writes to files under `dir` that were opened for writing. */
  readonly fileWrites: FileWrite[];
  readonly fileSyncs: FileSync[];
  /** Writes to accepted sockets (server to client). */
  readonly socketWrites: SocketWrite[];
  /** Accepted connections that had TCP_NODELAY switched on. */
  readonly noDelay: Set<number>;
}

const WRITE_CALLS = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'sendmsg', 'sendto']);

/**
 * Resolves fds in trace order: an fd is a data file from the openat (under `dir`, O_WRONLY or
 * O_RDWR) that returned it until its close, and a client socket from the accept that returned it.
 */
export function viewTrace(calls: readonly Syscall[], dir: string): TraceView {
  const files = new Map<number, string>();
  const sockets = new Map<number, number>();
  let connections = 0;
  const view: TraceView = { fileWrites: [], fileSyncs: [], socketWrites: [], noDelay: new Set() };
  for (const c of [...calls].sort((a, b) => a.end - b.end)) {
    if ((c.name === 'openat' || c.name === 'open') && c.ret >= 0) {
      const path = /"((?:\\x[0-9a-f]{2})*)"/.exec(c.args)?.[1];
      const name = path === undefined ? '' : Buffer.from(path.replaceAll('\\x', ''), 'hex').toString();
      files.delete(c.ret);
      sockets.delete(c.ret);
      if (name.startsWith(`${dir}/`) && /O_WRONLY|O_RDWR/.test(c.args)) files.set(c.ret, name);
    } else if ((c.name === 'accept4' || c.name === 'accept') && c.ret >= 0) {
      files.delete(c.ret);
      sockets.set(c.ret, ++connections);
    } else if (c.name === 'close') {
      files.delete(firstInt(c.args));
      sockets.delete(firstInt(c.args));
    } else if (WRITE_CALLS.has(c.name) && c.ret >= 0) {
      const fd = firstInt(c.args);
      const path = files.get(fd);
      if (path) view.fileWrites.push({ path, fd, bytes: bytesOf(c.args), start: c.start, end: c.end });
      const connection = sockets.get(fd);
      if (connection !== undefined) view.socketWrites.push({ fd, connection, bytes: bytesOf(c.args), start: c.start, end: c.end });
    } else if (c.name === 'setsockopt' && c.ret === 0 && /TCP_NODELAY, \[1\]/.test(c.args)) {
      const connection = sockets.get(firstInt(c.args));
      if (connection !== undefined) view.noDelay.add(connection);
    } else if (c.name === 'fdatasync' || c.name === 'fsync') {
      const fd = firstInt(c.args);
      const path = files.get(fd);
      if (path) view.fileSyncs.push({ path, fd, start: c.start, end: c.end, ok: c.ret === 0 });
    }
  }
  return view;
}

export interface TracedPacket {
  readonly connection: number;
  /** MQTT control packet type [MQTT-2.2.1] (4 = PUBACK). */
  readonly type: number;
  readonly bytes: Buffer;
  /** The syscalls that carried the packet's bytes, in order. */
  readonly writes: SocketWrite[];
}

/**
 * Splits each connection's outgoing byte stream into MQTT packets [MQTT-2.2]; connections whose
 * first packet is not a CONNACK (HTTP, say) are left out.
 */
export function mqttPacketsSent(view: TraceView): TracedPacket[] {
  const byConnection = new Map<number, SocketWrite[]>();
  for (const w of view.socketWrites) byConnection.set(w.connection, [...(byConnection.get(w.connection) ?? []), w]);
  const packets: TracedPacket[] = [];
  for (const [connection, writes] of byConnection) {
    const bytes = Buffer.concat(writes.map((w) => w.bytes));
    if (bytes[0] !== 0x20) continue;
    // For each byte offset, the write that carried it.
    const owner: SocketWrite[] = writes.flatMap((w) => Array.from(w.bytes, () => w));
    let i = 0;
    while (i < bytes.length) {
      let length = 0;
      let multiplier = 1;
      let j = i + 1;
      for (; j < bytes.length; j++) {
        length += (bytes[j]! & 0x7f) * multiplier;
        multiplier *= 128;
        if (!(bytes[j]! & 0x80)) break;
      }
      const endOfPacket = j + 1 + length;
      if (j >= bytes.length || endOfPacket > bytes.length) break; // cut off by the end of the trace
      packets.push({ connection, type: bytes[i]! >> 4, bytes: bytes.subarray(i, endOfPacket), writes: [...new Set(owner.slice(i, endOfPacket))] });
      i = endOfPacket;
    }
  }
  return packets;
}

export const readTrace = (traceFile: string, dir: string): TraceView => viewTrace(parseTrace(readFileSync(traceFile, 'latin1')), dir);
