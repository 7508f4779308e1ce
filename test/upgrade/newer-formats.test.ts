// Going back is restoring a backup, never reading a newer quantrac's files: the real server,
// started on a DATA_DIR whose lane checkpoint, lane snapshot or alert snapshot carries a newer
// format version than this code knows, or whose log holds a record type it does not know, stops at
// start-up naming the file or position (docs/on-disk-formats.md) instead of misreading it — a lane
// restarting from position 0 would re-deliver every alert; a skipped record would lose a reading.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STATE_FORMAT_VERSION } from '../../ingest/consumers/lane-state.ts';
import { ALERT_STORE_FORMAT } from '../../ingest/alerts/store.ts';
import { openFileLog } from '../../ingest/log/file-log.ts';
import { startTestQuantrac } from '../support/quantrac.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A DATA_DIR holding one file (relative path) with the given JSON. */
function dataDirWith(path: string, json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-newer-'));
  dirs.push(dir);
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), JSON.stringify(json));
  return dir;
}

describe('files written by a newer quantrac', () => {
  const lane = STATE_FORMAT_VERSION + 1;
  it.each([
    ['checkpoints/store.json', { version: lane, consumer: 'store', position: 4_294_967_296 }, /checkpoints\/store\.json is format 2, written by a newer quantrac/],
    ['checkpoints/now.json', { version: lane, consumer: 'now', position: 4_294_967_296 }, /checkpoints\/now\.json is format 2, written by a newer quantrac/],
    ['checkpoints/now.state.json', { version: lane, consumer: 'now', position: 0, state: {} }, /checkpoints\/now\.state\.json is format 2, written by a newer quantrac/],
    ['alerts/alerts-snapshot.json', { version: ALERT_STORE_FORMAT + 1, seq: 0, gen: 1, engine: { version: 1 } }, /alerts-snapshot\.json is format 2, written by a newer quantrac/],
  ])('%s of a newer format stops start-up with the file named', async (path, json, message) => {
    const dir = dataDirWith(path, json);
    await expect(startTestQuantrac({ DATA_DIR: dir })).rejects.toThrow(message);
  });

  it('a log record of a type this version does not know, not yet consumed, stops start-up with its position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quantrac-newer-'));
    dirs.push(dir);
    const log = await openFileLog({ dir: join(dir, 'spool'), segmentBytes: 1 << 20, maxBytes: 1 << 26, fsync: false });
    await log.appendTick(1_800_000_000_000);
    const newer = Buffer.concat([Buffer.from([0x04]), Buffer.from('{"a newer record":true}')]);
    await log.spool.append([newer]);
    await log.close();
    await expect(startTestQuantrac({ DATA_DIR: dir })).rejects.toThrow(/log record at position \d+ \(segment \d+\) has type 0x04, written by a newer quantrac/);
  });

  it('the same files in this version\'s format, and a log of known records, start the server', async () => {
    const dir = dataDirWith('checkpoints/store.json', { version: STATE_FORMAT_VERSION, consumer: 'store', position: 0 });
    const log = await openFileLog({ dir: join(dir, 'spool'), segmentBytes: 1 << 20, maxBytes: 1 << 26, fsync: false });
    await log.appendTick(1_800_000_000_000);
    await log.spool.append([Buffer.from('air,station=air-001 pm25=1,seq=1i 1800000000000')]); // a 0.1 record
    await log.close();
    const t = await startTestQuantrac({ DATA_DIR: dir });
    await t.stop();
  });
});
