// The power-loss promise, checked where it lives: in the order of syscalls. A SIGKILL cannot test it
// (the page cache survives a killed process), so the real server runs under strace and, for every
// PUBACK it writes to the gateway's socket, the bytes of that publish must have been written to a
// file under DATA_DIR opened for writing, and an fdatasync/fsync of that same file must have
// started after that write returned and completed before the PUBACK's write began. Keyed on "any
// file under DATA_DIR opened for writing", not on a folder name, so it holds whatever the durable
// log appends (points or raw publishes). The second case proves the check can fail: fsync off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { mqttPacketsSent, readTrace, startTracedServer, type TraceView } from '../support/syscall-trace.ts';

const COUNT = 12;
/** A value unique to reading `seq`, as it appears in the reading's JSON and in any text encoding of it. */
const marker = (seq: number) => 11 + seq + 0.271828;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Publishes COUNT QoS 1 readings one at a time through the traced server; returns the trace. */
async function tracedRun(env: Record<string, string>): Promise<{ view: TraceView; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-fsync-'));
  dirs.push(dataDir);
  const password = await setGatewayPassword(join(dataDir, 'gateways.json'), 'gw-air-01');
  const server = await startTracedServer(dataDir, join(tmpdir(), `quantrac-fsync-trace-${process.pid}-${Date.now()}.txt`), env);
  try {
    const client = await mqtt.connectAsync(server.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
    for (let seq = 0; seq < COUNT; seq++) {
      const reading = { ts: new Date(Date.now() - (COUNT - seq) * 1000).toISOString(), seq, values: { pm25: marker(seq), pm10: 30 } };
      await client.publishAsync('sensors/air-001/reading', JSON.stringify(reading), { qos: 1 });
    }
    await client.endAsync();
  } finally {
    await server.stop();
  }
  const view = readTrace(server.traceFile, dataDir);
  rmSync(server.traceFile, { force: true });
  return { view, dataDir };
}

/** One line per PUBACK that left before its publish was durable (empty when the promise holds). */
function pubacksBeforeDurable(view: TraceView): string[] {
  const pubacks = mqttPacketsSent(view).filter((p) => p.type === 4);
  expect(pubacks).toHaveLength(COUNT); // one at a time: the k-th PUBACK answers the k-th publish
  const problems: string[] = [];
  pubacks.forEach((puback, seq) => {
    const sentAt = puback.writes[0]!.start;
    const text = String(marker(seq));
    const append = view.fileWrites.find((w) => w.start < sentAt && w.bytes.includes(text));
    if (!append) return problems.push(`seq ${seq}: PUBACK sent before its bytes were written to any file under DATA_DIR`);
    if (append.end > sentAt) return problems.push(`seq ${seq}: PUBACK sent while the append to ${append.path} was still running`);
    const synced = view.fileSyncs.some((s) => s.ok && s.fd === append.fd && s.path === append.path && s.start > append.end && s.end < sentAt);
    if (!synced) problems.push(`seq ${seq}: no fdatasync of ${append.path} completed between the append and the PUBACK`);
  });
  return problems;
}

describe('power loss: a QoS 1 PUBACK leaves only after its publish is on disk', () => {
  it('every PUBACK follows a completed fdatasync of the file holding that publish', async () => {
    const { view } = await tracedRun({});
    expect(view.fileWrites.length).toBeGreaterThanOrEqual(COUNT);
    expect(pubacksBeforeDurable(view)).toEqual([]);
  });

  it('the check catches a server that does not sync (SPOOL_FSYNC=false)', async () => {
    const { view } = await tracedRun({ SPOOL_FSYNC: 'false' });
    const problems = pubacksBeforeDurable(view);
    expect(problems).toHaveLength(COUNT);
    expect(problems[0]).toMatch(/no fdatasync of .* completed between the append and the PUBACK/);
  });
});
