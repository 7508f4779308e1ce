// The durable spool: an append-only log of points in numbered segment files. A reading is
// acknowledged only after its record is on disk (group commit: one write + fdatasync for every
// record appended meanwhile); the InfluxDB writer tails the log and releases whole segments once
// InfluxDB has confirmed everything in them.
//
// Record format: spool-records.ts.
import { EventEmitter } from 'node:events';
import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint } from './spool-checkpoint.ts';
import { appendRecord, recordLength, RECORD_HEADER_BYTES, walkRecords } from './spool-records.ts';
import { scanSegment } from './spool-scan.ts';

export interface SpoolOptions {
  readonly dir: string;
  /** A segment is sealed and a new one started past this size. */
  readonly segmentBytes: number;
  /** Bound on the bytes kept on disk; at or past it the spool is full (backpressure). */
  readonly maxBytes: number;
  /** fdatasync each group commit. Off only for benchmarks of the un-synced path. */
  readonly fsync: boolean;
}

export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

export interface SpoolStats {
  readonly bytes: number;
  readonly segments: number;
  readonly full: boolean;
  /** Age of the oldest record not yet confirmed by InfluxDB, ms (0 when none). */
  readonly oldestUnwrittenMs: number;
  readonly corruptRecords: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface Group {
  /** Encoded records of the group, back to back; grown by doubling. */
  buffer: Buffer;
  bytes: number;
  /** One per append() call, in call order. */
  readonly waiters: Waiter[];
}

/**
 * Appends settled per turn of the event loop once their group is on disk. Each settled append lets
 * the broker acknowledge a publish and read that client's next packets, all in one microtask run:
 * settling a large group at once would hold the event loop for as long as that takes, and every
 * other socket (a quiet gateway's alarming reading among them) would wait behind it.
 */
const SETTLE_SLICE = 16;

interface Segment {
  readonly id: number;
  size: number;
}

/** When the records up to `end` of `segment` were committed; coalesced to one mark a second. */
interface CommitMark {
  readonly segment: number;
  end: number;
  readonly at: number;
}

const segName = (id: number) => `${String(id).padStart(12, '0')}.seg`;

export class SpoolClosedError extends Error {
  override readonly name = 'SpoolClosedError';
}

/**
 * A failed write left the active segment in a state that could not be cut back to its committed
 * end: nothing more is appended (or acknowledged) until a restart recovers the segment.
 */
export class SpoolBrokenError extends Error {
  override readonly name = 'SpoolBrokenError';
}

/**
 * One write() may store fewer bytes than asked (a full disk, the file-size limit) and still
 * succeed; a group counts as written only once all its bytes are. The next write of the remainder
 * then fails with the reason (ENOSPC, EFBIG).
 */
async function writeAll(fd: fsp.FileHandle, buffer: Buffer, length: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await fd.write(buffer, done, length - done);
    if (bytesWritten <= 0) throw new Error(`write stored nothing (${done} of ${length} bytes written)`);
    done += bytesWritten;
  }
}

export class Spool extends EventEmitter {
  private readonly segments: Segment[] = [];
  private active!: Segment;
  private activeFd!: fsp.FileHandle;
  private group: Group | undefined;
  private committing = false;
  private closed = false;
  private broken: SpoolBrokenError | undefined;
  private readFd: { id: number; fd: fsp.FileHandle } | undefined;
  private cursor: SpoolPosition = { segment: 0, offset: 0 };
  private corruptRecords = 0;
  private spaceWaiters: (() => void)[] = [];
  private marks: CommitMark[] = [];

  private readonly opts: SpoolOptions;

  private constructor(opts: SpoolOptions) {
    super();
    this.opts = opts;
  }

  /** Opens the spool, recovering segments left by an earlier run (a torn tail is cut off). */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const spool = new Spool(opts);
    await spool.recover();
    return spool;
  }

  private async recover(): Promise<void> {
    await fsp.mkdir(this.opts.dir, { recursive: true });
    const names = (await fsp.readdir(this.opts.dir)).filter((n) => /^\d{12}\.seg$/.test(n)).sort();
    for (const name of names) {
      const path = join(this.opts.dir, name);
      const { validBytes, corrupt } = await scanSegment(path);
      const stat: Stats = await fsp.stat(path);
      if (validBytes < stat.size) {
        // A torn write at the crash point (or a damaged tail): everything past it was never acked.
        await fsp.truncate(path, validBytes);
        this.corruptRecords += corrupt;
      }
      const id = Number(name.slice(0, 12));
      this.segments.push({ id, size: validBytes });
      this.marks.push({ segment: id, end: validBytes, at: stat.mtimeMs });
    }
    const first = this.segments[0];
    const checkpoint = await readCheckpoint(this.opts.dir);
    this.cursor = { segment: first?.id ?? 0, offset: 0 };
    if (checkpoint && this.segments.some((s) => s.id === checkpoint.segment && checkpoint.offset <= s.size)) {
      this.cursor = checkpoint;
    }
    const nextId = (this.segments.at(-1)?.id ?? 0) + 1;
    await this.openActive(nextId);
  }

  private async openActive(id: number): Promise<void> {
    this.activeFd = await fsp.open(join(this.opts.dir, segName(id)), 'a');
    this.active = { id, size: 0 };
    this.segments.push(this.active);
    if (this.opts.fsync) await syncDir(this.opts.dir);
  }

  /** True while the bytes on disk are at or beyond the bound. */
  isFull(): boolean {
    return this.totalBytes() >= this.opts.maxBytes;
  }

  /** Resolves once the spool is below its bound (at once when it is). */
  waitForSpace(): Promise<void> {
    if (!this.isFull()) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /**
   * Appends records; resolves once they are durable (after the group's fdatasync). Appends never
   * wait for space themselves: callers check `isFull()` / `waitForSpace()` first, so the bound is
   * exceeded by at most the groups already admitted.
   */
  append(payloads: readonly (string | Buffer)[]): Promise<void> {
    if (this.closed) return Promise.reject(new SpoolClosedError('spool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const group = (this.group ??= { buffer: Buffer.allocUnsafe(64 * 1024), bytes: 0, waiters: [] });
    for (const p of payloads) {
      const next = appendRecord(group.buffer, group.bytes, p);
      group.buffer = next.buf;
      group.bytes = next.end;
    }
    if (!this.committing) {
      this.committing = true;
      setImmediate(() => void this.commitLoop());
    }
    return new Promise((resolve, reject) => group.waiters.push({ resolve, reject }));
  }

  /**
   * The committed group being settled, oldest append first (acknowledgements keep their order).
   * One group at a time: the commit loop writes the next group only once this one has settled.
   */
  private settling: readonly Waiter[] = [];
  private settled = 0;
  private settleScheduled = false;

  private settle(waiters: readonly Waiter[]): void {
    this.settling = waiters;
    this.settled = 0;
    this.settleSlice();
  }

  private settleSlice(): void {
    const end = Math.min(this.settling.length, this.settled + SETTLE_SLICE);
    for (; this.settled < end; this.settled++) this.settling[this.settled]!.resolve();
    if (this.settled < this.settling.length) {
      this.settleScheduled = true;
      setImmediate(() => this.settleSlice());
    } else {
      this.settleScheduled = false;
      this.settling = [];
      this.settled = 0;
      this.emit('settled');
    }
  }

  private async commitLoop(): Promise<void> {
    while (this.group) {
      // Let the previous group finish settling first: its settled publishes add their clients'
      // next readings to this group, so it commits with them rather than in many small fsyncs.
      if (this.settleScheduled) await new Promise((r) => this.once('settled', r));
      const group = this.group;
      this.group = undefined;
      try {
        if (this.active.size > 0 && this.active.size + group.bytes > this.opts.segmentBytes) await this.rotate();
        await writeAll(this.activeFd, group.buffer, group.bytes);
        if (this.opts.fsync) await this.activeFd.datasync();
        this.active.size += group.bytes;
        this.mark(this.active.id, this.active.size);
        this.settle(group.waiters);
        this.emit('commit');
      } catch (err) {
        // Not acknowledged: the publishes fail and their gateways send them again.
        const e = err instanceof Error ? err : new Error(String(err));
        for (const w of group.waiters) w.reject(e);
        await this.cutBack(e);
      }
    }
    this.committing = false;
    this.emit('idle');
  }

  /**
   * After a failed write or fdatasync the segment may hold part or all of the failed group past its
   * committed end. It is cut back there, so that the next group (appended at the end of the file)
   * starts where readers expect it; if it cannot be, the spool stops taking appends.
   */
  private async cutBack(cause: Error): Promise<void> {
    try {
      await this.activeFd.truncate(this.active.size);
    } catch (err) {
      this.broken = new SpoolBrokenError(`spool segment ${segName(this.active.id)} could not be cut back after a failed write (${cause.message})`, { cause: err });
      const waiting = this.group?.waiters ?? [];
      this.group = undefined;
      for (const w of waiting) w.reject(this.broken);
    }
  }

  private mark(segment: number, end: number): void {
    const now = Date.now();
    const last = this.marks.at(-1);
    if (last && last.segment === segment && now - last.at < 1000) last.end = end;
    else this.marks.push({ segment, end, at: now });
  }

  private async rotate(): Promise<void> {
    if (this.opts.fsync) await this.activeFd.datasync();
    await this.activeFd.close();
    await this.openActive(this.active.id + 1);
  }

  /** End of what is durable now. */
  committedEnd(): SpoolPosition {
    return { segment: this.active.id, offset: this.active.size };
  }

  /** Where the writer resumes: the checkpoint of the last confirmed batch, or the oldest segment. */
  startPosition(): SpoolPosition {
    return this.cursor;
  }

  /**
   * Reads up to `maxRecords` committed records (about `maxBytes`) from `from`. Returns the payloads
   * and the position after the last one; an empty list when nothing is committed beyond `from`.
   */
  async read(from: SpoolPosition, maxRecords: number, maxBytes: number): Promise<{ records: string[]; next: SpoolPosition }> {
    let pos = from;
    for (;;) {
      const seg = this.segments.find((s) => s.id >= pos.segment);
      if (!seg) return { records: [], next: pos };
      if (seg.id !== pos.segment) pos = { segment: seg.id, offset: 0 };
      if (pos.offset < seg.size) break;
      if (seg === this.active) return { records: [], next: pos };
      pos = { segment: seg.id + 1, offset: 0 };
    }
    const seg = this.segments.find((s) => s.id === pos.segment)!;
    const fd = await this.readHandle(seg.id);
    const records: string[] = [];
    let offset = pos.offset;
    let chunkBytes = Math.min(maxBytes, seg.size - offset);
    while (records.length < maxRecords && offset < seg.size) {
      const buf = Buffer.allocUnsafe(Math.max(chunkBytes, RECORD_HEADER_BYTES));
      const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, seg.size - offset), offset);
      const walk = walkRecords(buf, bytesRead, (body) => records.push(body.toString('utf8')) < maxRecords);
      if (walk.corrupt) {
        // Damage inside a committed segment: count it and skip the rest of this segment.
        this.corruptRecords++;
        this.emit('corrupt', { segment: seg.id, offset: offset + walk.consumed });
        return { records, next: { segment: seg.id, offset: seg.size } };
      }
      if (walk.consumed === 0) {
        chunkBytes = recordLength(buf); // one record larger than the chunk
        continue;
      }
      offset += walk.consumed;
      if (records.length >= maxRecords || offset - pos.offset >= maxBytes) break;
    }
    return { records, next: { segment: seg.id, offset } };
  }

  private async readHandle(id: number): Promise<fsp.FileHandle> {
    if (this.readFd?.id === id) return this.readFd.fd;
    await this.readFd?.fd.close();
    const fd = await fsp.open(join(this.opts.dir, segName(id)), 'r');
    this.readFd = { id, fd };
    return fd;
  }

  /**
   * InfluxDB has confirmed everything before `upTo`: delete the segments wholly before it and
   * record the checkpoint (not fsynced: a stale checkpoint only replays confirmed points, which
   * InfluxDB overwrites with identical values).
   */
  async release(upTo: SpoolPosition): Promise<void> {
    this.cursor = upTo;
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      const done = seg.id < upTo.segment || (seg.id === upTo.segment && upTo.offset >= seg.size);
      if (!done || seg === this.active) break;
      this.segments.shift();
      if (this.readFd?.id === seg.id) {
        await this.readFd.fd.close();
        this.readFd = undefined;
      }
      await fsp.rm(join(this.opts.dir, segName(seg.id)), { force: true });
    }
    while (this.marks.length > 0) {
      const m = this.marks[0]!;
      if (m.segment > upTo.segment || (m.segment === upTo.segment && m.end > upTo.offset)) break;
      this.marks.shift();
    }
    await writeCheckpoint(this.opts.dir, upTo);
    if (!this.isFull()) for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  private totalBytes(): number {
    let sum = 0;
    for (const s of this.segments) sum += s.size;
    return sum;
  }

  /** True when every committed record has been released. */
  isDrained(): boolean {
    if (this.group) return false;
    return this.segments.every((s) =>
      s.id < this.cursor.segment ? true : s.id === this.cursor.segment ? this.cursor.offset >= s.size : s.size === 0,
    );
  }

  stats(now = Date.now()): SpoolStats {
    const oldest = this.marks[0];
    return {
      bytes: this.totalBytes(),
      segments: this.segments.length,
      full: this.isFull(),
      oldestUnwrittenMs: oldest ? Math.max(0, now - oldest.at) : 0,
      corruptRecords: this.corruptRecords,
    };
  }

  /** Waits for in-progress commits, then closes the files. Appends after this are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.committing) await new Promise((r) => this.once('idle', r));
    await this.activeFd.close();
    await this.readFd?.fd.close();
    this.readFd = undefined;
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}
