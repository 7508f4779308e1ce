// The real entry (server/main.ts) facing a bug that escapes every handler: an unhandled rejection
// or an uncaught exception is logged as one fatal JSON line with its stack, and the process exits
// with 70 (EX_SOFTWARE) for its supervisor to restart it; a reading acknowledged before the crash
// is stored after the restart. The bug is injected by a preload module (--import) that throws once
// a trigger file appears: no test hook in the server itself. The same bug in the services thread
// alone (API, store lane, alerts) must end the process too: the broker thread would otherwise go
// on acknowledging into the log with nothing stored and no API, and no supervisor would restart it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { eventually, influxRows, uniqueDatabase } from '../support/influx.ts';
import { serverProcessEnv, startServerProcess } from '../support/server-process.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// Preloads run in worker threads too: TEST_CRASH_THREAD picks the broker's (main) thread or the
// services thread (the worker started with the log's end in its workerData).
const PRELOAD = `
import { existsSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
const trigger = process.env.TEST_CRASH_TRIGGER;
const here = isMainThread ? 'main' : workerData && typeof workerData === 'object' && 'logEnd' in workerData ? 'services' : 'other';
if (here === process.env.TEST_CRASH_THREAD) {
  const timer = setInterval(() => {
    if (!existsSync(trigger)) return;
    clearInterval(timer);
    if (process.env.TEST_CRASH_KIND === 'exception') throw new Error('injected bug: exception');
    Promise.reject(new Error('injected bug: rejection'));
  }, 50);
  timer.unref();
}
`;

async function crashOnce(kind: 'exception' | 'rejection', thread: 'main' | 'services' = 'main') {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-crash-'));
  dirs.push(dir);
  const preload = join(dir, 'preload.mjs');
  writeFileSync(preload, PRELOAD);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const database = uniqueDatabase('crash');
  const env = serverProcessEnv(database, dataDir);
  const password = await setGatewayPassword(join(dataDir, 'gateways.json'), 'gw-air-01');
  const trigger = join(dir, 'crash-now');
  const server = await startServerProcess({ ...env, TEST_CRASH_TRIGGER: trigger, TEST_CRASH_KIND: kind, TEST_CRASH_THREAD: thread }, { execArgv: [`--import=${preload}`], stdout: 'pipe' });
  let stdout = '';
  server.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));

  const client = await mqtt.connectAsync(server.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
  const ts = Date.now() - 60_000;
  await client.publishAsync('sensors/air-001/reading', JSON.stringify({ ts, seq: 7, values: { pm25: 33.3 } }), { qos: 1 }); // acknowledged
  await client.endAsync(true);
  writeFileSync(trigger, '');
  const code = await Promise.race([server.exited, new Promise((r) => setTimeout(r, 15_000, 'still running 15 s after the bug'))]);
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');

  const restarted = await startServerProcess(env); // as the supervisor would
  await eventually(async () => ((await influxRows(database, 'SELECT pm25 FROM air WHERE "station" = \'air-001\'')).length === 1 ? true : undefined), 20_000, 'the acknowledged reading stored');
  restarted.child.kill('SIGTERM');
  await restarted.exited;
  const fatal = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; kind?: string; err?: { message: string; stack: string } }).find((l) => l.level === 60);
  return { code, fatal };
}

describe('a bug that escapes every handler', () => {
  it('an unhandled rejection: logged as fatal with its stack, exit 70, acknowledged reading kept', async () => {
    const { code, fatal } = await crashOnce('rejection');
    expect(code).toBe(70);
    expect(fatal).toMatchObject({ kind: 'unhandledRejection', err: { message: 'injected bug: rejection' } });
    expect(fatal!.err!.stack).toMatch(/preload\.mjs/);
  });

  it('an uncaught exception: the same', async () => {
    const { code, fatal } = await crashOnce('exception');
    expect(code).toBe(70);
    expect(fatal).toMatchObject({ kind: 'uncaughtException', err: { message: 'injected bug: exception' } });
  });

  it('an uncaught exception in the services thread only: the same, not a broker left acknowledging alone', async () => {
    const { code, fatal } = await crashOnce('exception', 'services');
    expect(code).toBe(70);
    expect(fatal).toMatchObject({ kind: 'servicesThread', err: { message: 'injected bug: exception' } });
    expect(fatal!.err!.stack).toMatch(/preload\.mjs/);
  });
});
