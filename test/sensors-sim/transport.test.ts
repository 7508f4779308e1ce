// The simulator on a real (in-process Aedes) broker: gateway identity, QoS 1, batches, last will,
// buffering through a broker outage, load mode counts, and the CLI as ops/start.ts runs it.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRegistry, type Station } from '../../contracts/stations.ts';
import { runLoad } from '../../sensors-sim/load.ts';
import { createSimulator, type Simulator } from '../../sensors-sim/simulator.ts';
import { startTestBroker, waitFor, type Received, type TestBroker } from './broker-harness.ts';

const registry = loadRegistry();
const pick = (...ids: string[]): Station[] => ids.map((id) => registry.get(id)!);
const DAY_MS = 86_400_000;

/** (station, seq) of every reading in the received messages, singles and batch elements alike. */
function readingsOf(received: readonly Received[]): { station: string; seq: number; ts: unknown; values: Record<string, number> }[] {
  const out: { station: string; seq: number; ts: unknown; values: Record<string, number> }[] = [];
  for (const m of received) {
    const single = /^sensors\/([^/]+)\/reading$/.exec(m.topic);
    if (single) out.push({ station: single[1]!, ...(JSON.parse(m.payload) as { seq: number; ts: unknown; values: Record<string, number> }) });
    else if (/^gateways\/[^/]+\/readings$/.test(m.topic)) out.push(...(JSON.parse(m.payload) as { station: string; seq: number; ts: unknown; values: Record<string, number> }[]));
  }
  return out;
}
const uniqueReadings = (received: readonly Received[]): number => new Set(readingsOf(received).map((r) => `${r.station}#${r.seq}`)).size;

let broker: TestBroker | undefined;
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  await broker?.close();
  sim = undefined;
  broker = undefined;
});

describe('simulated gateways on a real broker', () => {
  it('connect as themselves with their password and publish QoS 1 readings, singly and in batches', async () => {
    const credentials = { 'gw-air-01': 'pw-air', 'gw-rain-01': 'pw-rain', 'gw-river': 'pw-river' };
    broker = await startTestBroker({ credentials });
    sim = createSimulator({
      url: broker.url,
      stations: pick('air-001', 'air-002', 'rain-001', 'flood-longbien'),
      credentials,
      speed: 60,
      startMs: Date.now() - DAY_MS,
      isBatchGateway: (id) => id === 'gw-rain-01',
    });
    sim.start();
    const b = broker;
    await waitFor(() => ['air-001', 'air-002', 'rain-001', 'flood-longbien'].every((id) => readingsOf(b.received).some((r) => r.station === id)), 15_000, 'a reading from every station');

    expect(new Set(b.connects.map((c) => c.clientId))).toEqual(new Set(Object.keys(credentials)));
    for (const c of b.connects) expect([c.username, c.password]).toEqual([c.clientId, credentials[c.clientId as keyof typeof credentials]]);
    const readingMessages = b.received.filter((m) => m.topic.startsWith('sensors/') || m.topic.endsWith('/readings'));
    expect(readingMessages.every((m) => m.qos === 1)).toBe(true);
    expect(readingMessages.filter((m) => m.topic.startsWith('sensors/')).every((m) => m.clientId === 'gw-air-01' || m.clientId === 'gw-river')).toBe(true);
    const batch = b.received.find((m) => m.topic === 'gateways/gw-rain-01/readings');
    expect(batch?.clientId).toBe('gw-rain-01');
    const elements = JSON.parse(batch!.payload) as { station: string; values: Record<string, number> }[];
    expect(elements[0]).toMatchObject({ station: 'rain-001', values: { interval_s: 300 } });
    const one = readingsOf(b.received).find((r) => r.station === 'air-001')!;
    expect(one.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+07:00$/);
    expect(Number.isInteger(one.seq)).toBe(true);
    expect(Object.keys(one.values)).toContain('pm25');
    const online = b.received.find((m) => m.topic === 'gateways/gw-river/status');
    expect(online && (JSON.parse(online.payload) as { status: string }).status).toBe('online');
  });

  it("publishes a gateway's retained last will when its connection drops without DISCONNECT", async () => {
    broker = await startTestBroker();
    sim = createSimulator({ url: broker.url, stations: pick('flood-longbien'), backoff: { minMs: 50, maxMs: 200 } });
    sim.start();
    const gw = sim.gateways.get('gw-river')!;
    await waitFor(() => gw.connected, 10_000, 'gateway connected');
    const watcher = await mqtt.connectAsync(broker.url, { clientId: 'watcher', reconnectPeriod: 0 });
    const statuses: string[] = [];
    watcher.on('message', (_t, payload) => statuses.push((JSON.parse(payload.toString()) as { status: string; reason?: string }).reason ?? 'online'));
    await watcher.subscribeAsync('gateways/+/status', { qos: 1 });
    await waitFor(() => statuses.length > 0, 5000, 'retained online status');
    gw.drop(300);
    await waitFor(() => statuses.includes('connection lost'), 10_000, 'last will');
    await waitFor(() => gw.connected, 10_000, 'reconnected after the drop');
    await watcher.endAsync();
  });

  it('buffers readings while the broker is down and flushes every one of them after it returns', async () => {
    broker = await startTestBroker();
    const b = broker;
    sim = createSimulator({ url: b.url, stations: pick('air-001', 'air-002'), speed: 120, startMs: Date.now() - DAY_MS, backoff: { minMs: 100, maxMs: 400 } });
    const s = sim;
    s.start();
    await waitFor(() => uniqueReadings(b.received) >= 2, 10_000, 'first readings');
    await b.down();
    const generatedAtDown = s.stats().readingsGenerated;
    await waitFor(() => s.stats().itemsBuffered >= 6, 15_000, 'readings buffered while offline');
    await b.up();
    const generatedAtUp = s.stats().readingsGenerated;
    expect(generatedAtUp - generatedAtDown).toBeGreaterThanOrEqual(6);
    await waitFor(() => uniqueReadings(b.received) >= generatedAtUp, 15_000, 'buffered readings flushed');
    expect(s.stats().itemsDropped).toBe(0);
    expect(s.stats().connects).toBeGreaterThanOrEqual(2);
    // Nothing was lost: every seq of each station arrives, in one reading per simulated minute.
    const seqs = readingsOf(b.received).filter((r) => r.station === 'air-001').map((r) => r.seq);
    const sorted = [...new Set(seqs)].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(60);
  });

  it('load mode publishes at most the target count, and the broker acknowledges every publish', async () => {
    broker = await startTestBroker();
    const stations = registry.stations.filter((s) => s.kind === 'air').slice(0, 30);
    const result = await runLoad({ url: broker.url, stations, ratePerS: 300, durationS: 1.5, inflight: 50, connections: 2 });
    expect(result.connections).toBe(2);
    expect(result.published).toBeGreaterThan(0);
    expect(result.published).toBeLessThanOrEqual(450);
    expect(result.acked).toBe(result.published);
    expect(result.failed).toBe(0);
    expect(readingsOf(broker.received)).toHaveLength(result.published);
    expect(new Set(broker.received.map((m) => m.clientId))).toEqual(new Set(['gw-air-01', 'gw-air-02']));
  });
});

describe('the CLI as ops/start.ts runs it', () => {
  it('with only --url and --credentials, every station of the registry reports within seconds and SIGTERM stops cleanly', async () => {
    const gatewayIds = [...new Set(registry.stations.map((s) => s.gatewayId))];
    const credentials = Object.fromEntries(gatewayIds.map((id) => [id, `pw-${id}`]));
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(credentials));
    broker = await startTestBroker({ credentials });
    const b = broker;
    const child = spawn(process.execPath, ['sensors-sim/main.ts', '--url', b.url, '--credentials', join(dir, 'credentials.json')], {
      cwd: new URL('../../', import.meta.url),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const reporting = (): number => new Set(readingsOf(b.received).map((r) => r.station)).size;
      await waitFor(() => reporting() === registry.stations.length, 30_000, `every station (${registry.stations.length}) reporting`);
      expect(new Set(b.connects.map((c) => c.clientId)).size).toBe(gatewayIds.length);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(b.received.some((m) => m.topic.endsWith('/status') && m.payload.includes('"stopped"'))).toBe(true);
  });
});
