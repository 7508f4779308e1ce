// The spool on a real file system: durable appends, ordered reads, segment release, recovery
// from a torn tail and a damaged record, the checkpoint, and the bound.
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolPosition } from '../../ingest/sink/spool.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'quantrac-spool-'));
  dirs.push(d);
  return d;
};
const open = (dir: string, over: Partial<Parameters<typeof Spool.open>[0]> = {}) => Spool.open({ dir, segmentBytes: 1024, maxBytes: 1 << 20, fsync: true, ...over });
const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `air,station=air-001 pm25=${from + i} ${1_000_000 + from + i}`);

async function readAll(spool: Spool, from: SpoolPosition): Promise<{ records: string[]; next: SpoolPosition }> {
  const records: string[] = [];
  let pos = from;
  for (;;) {
    const r = await spool.read(pos, 7, 4096);
    if (r.records.length === 0) return { records, next: r.next };
    records.push(...r.records);
    pos = r.next;
  }
}

describe('spool', () => {
  it('reads back what was appended, in order, across segments', async () => {
    const spool = await open(tmp());
    for (let i = 0; i < 10; i++) await spool.append(lines(i * 10, 10));
    const { records } = await readAll(spool, spool.startPosition());
    expect(records).toEqual(lines(0, 100));
    expect(spool.stats().segments).toBeGreaterThan(3);
    await spool.close();
  });

  it('settles appends in their order, a slice per turn of the event loop, so other sockets get read meanwhile', async () => {
    const spool = await open(tmp(), { segmentBytes: 1 << 20 });
    const settledAt: { i: number; turn: number }[] = [];
    let turn = 0;
    let running = true;
    const count = () => {
      turn++;
      if (running) setImmediate(count);
    };
    setImmediate(count);
    // Two groups: the first 150 appends share one commit, the next 150 the following one.
    const appends = Array.from({ length: 150 }, (_, i) => spool.append(lines(i, 1)).then(() => void settledAt.push({ i, turn })));
    await new Promise((r) => setImmediate(r));
    appends.push(...Array.from({ length: 150 }, (_, k) => spool.append(lines(150 + k, 1)).then(() => void settledAt.push({ i: 150 + k, turn }))));
    await Promise.all(appends);
    running = false;
    expect(settledAt.map((s) => s.i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // 300 appends at 16 a slice need at least 19 turns; all at once would be one or two.
    expect(new Set(settledAt.map((s) => s.turn)).size).toBeGreaterThanOrEqual(Math.ceil(300 / 16));
    await spool.close();
  });

  it('releases whole segments once confirmed, and resumes from the checkpoint after a restart', async () => {
    const dir = tmp();
    let spool = await open(dir);
    for (let i = 0; i < 10; i++) await spool.append(lines(i * 10, 10));
    const first = await spool.read(spool.startPosition(), 55, 1 << 20);
    let pos = first.next;
    const segmentsBefore = readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
    // A read stops at a segment end; release what was read (as the writer does after InfluxDB confirms).
    const confirmed: string[] = [...first.records];
    while (confirmed.length < 55) {
      const r = await spool.read(pos, 55 - confirmed.length, 1 << 20);
      confirmed.push(...r.records);
      pos = r.next;
    }
    await spool.release(pos);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeLessThan(segmentsBefore);
    await spool.close();

    spool = await open(dir);
    const rest = await readAll(spool, spool.startPosition());
    expect(rest.records).toEqual(lines(55, 45));
    expect(spool.isDrained()).toBe(false);
    await spool.release(rest.next);
    expect(spool.isDrained()).toBe(true);
    await spool.close();
  });

  it('cuts off a torn tail left by a crash and keeps every whole record', async () => {
    const dir = tmp();
    let spool = await open(dir, { segmentBytes: 1 << 20 });
    await spool.append(lines(0, 20));
    await spool.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const size = statSync(seg).size;
    appendFileSync(seg, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 97, 98])); // header of a record whose body never made it
    spool = await open(dir, { segmentBytes: 1 << 20 });
    expect(statSync(seg).size).toBe(size);
    expect((await readAll(spool, spool.startPosition())).records).toEqual(lines(0, 20));
    await spool.append(lines(20, 5));
    expect((await readAll(spool, spool.startPosition())).records).toEqual(lines(0, 25));
    await spool.close();
  });

  it('detects a damaged record by its checksum and counts it', async () => {
    const dir = tmp();
    let spool = await open(dir, { segmentBytes: 1 << 20 });
    await spool.append(lines(0, 10));
    await spool.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const size = statSync(seg).size;
    const recordBytes = size / 10; // flip one byte inside record 6
    const fd = await import('node:fs/promises').then((m) => m.open(seg, 'r+'));
    await fd.write(Buffer.from('X'), 0, 1, Math.floor(recordBytes * 5 + 12));
    await fd.close();
    spool = await open(dir, { segmentBytes: 1 << 20 });
    expect((await readAll(spool, spool.startPosition())).records).toEqual(lines(0, 5));
    expect(spool.stats().corruptRecords).toBe(1);
    await spool.close();
  });

  it('is full at its bound and wakes waiters when released below it', async () => {
    const spool = await open(tmp(), { segmentBytes: 1024, maxBytes: 4096 });
    while (!spool.isFull()) await spool.append(lines(0, 10));
    let woke = false;
    const waiting = spool.waitForSpace().then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    const { next } = await readAll(spool, spool.startPosition());
    await spool.release(next);
    await waiting;
    expect(woke).toBe(true);
    expect(spool.isFull()).toBe(false);
    await spool.close();
  });

  it('ignores a stale checkpoint that points at a deleted segment', async () => {
    const dir = tmp();
    let spool = await open(dir);
    await spool.append(lines(0, 3));
    await spool.close();
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ segment: 999, offset: 5 }));
    spool = await open(dir);
    expect((await readAll(spool, spool.startPosition())).records).toEqual(lines(0, 3));
    await spool.close();
  });
});
