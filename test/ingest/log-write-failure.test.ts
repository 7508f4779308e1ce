// A disk that cannot take the log's write (full, or the file-size limit): a publish is acknowledged
// only if ALL its bytes are in the log. One write() to a nearly full file stores only part of what
// it was given and still succeeds; the log used to take that as written and send the PUBACK for a
// reading that was never whole on disk. The fault is real: the kernel's file-size limit
// (RLIMIT_FSIZE, set on the running server with prlimit) makes writes past it short, then EFBIG
// (Node ignores SIGXFSZ), as a full disk makes them short, then ENOSPC.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { scanSegment } from '../../ingest/sink/spool-scan.ts';
import { eventually, uniqueDatabase } from '../support/influx.ts';
import { serverProcessEnv, startServerProcess } from '../support/server-process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-log-fail-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Bytes a file may grow to; not a multiple of a record, so the write that reaches it is cut short. */
const FILE_SIZE_LIMIT = 60_001;

describe('the log cannot take a write', () => {
  it('acknowledges only publishes that are whole on disk, refuses the one that did not fit, and keeps running', async () => {
    const password = await setGatewayPassword(join(dataDir, 'gateways.json'), 'gw-air-01');
    const server = await startServerProcess(serverProcessEnv(uniqueDatabase('logfail'), dataDir), { stdout: 'pipe' });
    let out = '';
    server.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const acked: string[] = [];
    try {
      execFileSync('prlimit', ['--pid', String(server.child.pid), `--fsize=${FILE_SIZE_LIMIT}`]);
      const client = await mqtt.connectAsync(server.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
      const closed = new Promise<string>((r) => client.once('close', () => r('connection closed')));
      let refused: string | undefined;
      // One at a time, as a field gateway sends: each publish waits for its PUBACK.
      for (let seq = 0; seq < 1000 && !refused; seq++) {
        const payload = JSON.stringify({ ts: Date.now() - 1_000_000 + seq * 1000, seq, values: { pm25: 20.5, pm10: 40.25 }, note: 'x'.repeat(300) });
        const outcome = await Promise.race([
          client.publishAsync('sensors/air-001/reading', payload, { qos: 1 }).then(() => 'acked'),
          closed,
          new Promise<string>((r) => setTimeout(r, 10_000, 'no PUBACK within 10 s')),
        ]);
        if (outcome === 'acked') acked.push(payload);
        else refused = outcome;
      }
      expect(acked.length).toBeGreaterThan(50); // the log took writes until the limit
      expect(refused).toBeDefined(); // the publish that reached it got no PUBACK
      expect(server.child.exitCode).toBeNull(); // nothing a full disk does takes the process down
      await eventually(async () => (out.includes('"msg":"publish not appended to the log: not acknowledged"') ? true : undefined), 5000, 'the refusal logged');
      client.end(true);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }

    const spool = join(dataDir, 'spool');
    let whole = Buffer.alloc(0);
    for (const name of readdirSync(spool).filter((n) => n.endsWith('.seg')).sort()) {
      const bytes = readFileSync(join(spool, name));
      const { validBytes } = await scanSegment(join(spool, name));
      expect(validBytes).toBe(bytes.length); // cut back after the failed write: no partial record left
      whole = Buffer.concat([whole, bytes.subarray(0, validBytes)]);
    }
    const missing = acked.filter((p) => !whole.includes(Buffer.from(p))).map((p) => (JSON.parse(p) as { seq: number }).seq);
    expect(missing).toEqual([]);
  });
});
