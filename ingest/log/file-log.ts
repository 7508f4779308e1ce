// The file implementation of the durable log: the spool's numbered segment files (CRC-framed
// records, group commit with fdatasync, bounded) written on the broker's thread, read by the
// consumers on another thread straight from the files, up to the end that the writer announces as
// committed. A position is `segment × 2³² + offset`.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Spool, type SpoolOptions } from '../sink/spool.ts';
import { recordLength, RECORD_HEADER_BYTES, walkRecords } from '../sink/spool-records.ts';
import { encodeCommand, encodePublish, encodeTick, type LogCommand } from './records.ts';
import type { CheckpointStore, LogAppender, LogEntry, LogPosition, LogReader, RawPublish } from './types.ts';

const SEGMENT = 2 ** 32;
export const toPosition = (segment: number, offset: number): LogPosition => segment * SEGMENT + offset;
export const segmentOf = (p: LogPosition): number => Math.floor(p / SEGMENT);
export const offsetOf = (p: LogPosition): number => p % SEGMENT;
const segName = (id: number) => `${String(id).padStart(12, '0')}.seg`;

/** The broker-side log: appends records to the spool and announces each committed end. */
export interface FileLogAppender extends LogAppender {
  readonly spool: Spool;
  appendTick(at: number): Promise<LogPosition>;
  appendCommand(at: number, command: LogCommand): Promise<LogPosition>;
  /** The end of what is durable now. */
  end(): LogPosition;
  /** Called after each group commit with the new durable end. */
  onCommitted(listener: (end: LogPosition) => void): void;
  /** Every consumer has passed `position`: segments wholly before it are deleted. */
  release(position: LogPosition): Promise<void>;
}

export async function openFileLog(opts: SpoolOptions): Promise<FileLogAppender> {
  const spool = await Spool.open(opts);
  const end = () => {
    const e = spool.committedEnd();
    return toPosition(e.segment, e.offset);
  };
  const appendBody = async (body: Buffer): Promise<LogPosition> => {
    await spool.append([body]);
    return end();
  };
  return {
    spool,
    append: (publish: RawPublish) => appendBody(encodePublish(publish)),
    appendTick: (at) => appendBody(encodeTick(at)),
    appendCommand: (at, command) => appendBody(encodeCommand(at, command)),
    isFull: () => spool.isFull(),
    waitForSpace: () => spool.waitForSpace(),
    end,
    onCommitted(listener) {
      spool.on('commit', () => listener(end()));
    },
    release: (position) => spool.release({ segment: segmentOf(position), offset: offsetOf(position) }),
    close: () => spool.close(),
  };
}

export interface FileLogReaderOptions {
  readonly dir: string;
  /** The committed end when the reader starts (later ends arrive through setEnd). */
  readonly end: LogPosition;
  /** Bytes read from a segment file at a time. */
  readonly chunkBytes?: number;
  /** A record whose checksum does not match: the rest of its segment is skipped. */
  readonly onCorrupt?: (position: LogPosition) => void;
}

/** A consumer-side reader of the segment files; any number of them may read at once. */
export interface FileLogReader extends LogReader {
  /** The writer announced a new committed end. */
  setEnd(end: LogPosition): void;
  close(): Promise<void>;
}

export function createFileLogReader(opts: FileLogReaderOptions): FileLogReader {
  let committed = opts.end;
  let closed = false;
  let waiters: { beyond: LogPosition; resolve: () => void }[] = [];
  let open: { id: number; fd: fsp.FileHandle } | undefined;
  const chunkBytes = opts.chunkBytes ?? 1 << 20;

  async function handle(id: number): Promise<fsp.FileHandle | undefined> {
    if (open?.id === id) return open.fd;
    await open?.fd.close();
    open = undefined;
    try {
      open = { id, fd: await fsp.open(join(opts.dir, segName(id)), 'r') };
      return open.fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The oldest segment still on disk at or after `id`, or undefined. */
  async function nextSegment(id: number): Promise<number | undefined> {
    const ids = (await fsp.readdir(opts.dir)).filter((n) => /^\d{12}\.seg$/.test(n)).map((n) => Number(n.slice(0, 12)));
    const later = ids.filter((s) => s >= id).sort((a, b) => a - b);
    return later[0];
  }

  return {
    start: () => 0,
    end: () => committed,
    setEnd(end) {
      if (end <= committed) return;
      committed = end;
      const ready = waiters.filter((w) => committed > w.beyond);
      if (ready.length === 0) return;
      waiters = waiters.filter((w) => committed <= w.beyond);
      for (const w of ready) w.resolve();
    },
    waitBeyond(position) {
      if (committed > position || closed) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ beyond: position, resolve }));
    },
    async read(from, maxRecords) {
      let pos = from;
      const entries: LogEntry[] = [];
      while (entries.length === 0 && pos < committed) {
        const seg = segmentOf(pos);
        const fd = await handle(seg);
        if (!fd) {
          // Released, or a segment id skipped at a restart: go on with the next one on disk.
          const next = await nextSegment(seg + 1);
          if (next === undefined || toPosition(next, 0) > committed) return { entries, next: pos };
          pos = toPosition(next, 0);
          continue;
        }
        // The segment being appended holds at least the committed bytes: no fstat on the hot path.
        const limit = segmentOf(committed) === seg ? offsetOf(committed) : (await fd.stat()).size;
        let offset = offsetOf(pos);
        if (offset >= limit) {
          if (segmentOf(committed) === seg) return { entries, next: pos };
          pos = toPosition(seg + 1, 0);
          continue;
        }
        let want = Math.min(chunkBytes, limit - offset);
        for (;;) {
          const buf = Buffer.allocUnsafe(Math.max(want, RECORD_HEADER_BYTES));
          const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, limit - offset), offset);
          const walk = walkRecords(buf, bytesRead, (body) => {
            const position = toPosition(seg, offset);
            offset += RECORD_HEADER_BYTES + body.length;
            entries.push({ position, next: toPosition(seg, offset), body });
            return entries.length < maxRecords;
          });
          if (walk.corrupt) {
            // Damage inside committed bytes (the disk, not a crash: a torn tail is cut at recovery):
            // count it and skip what is committed of this segment.
            opts.onCorrupt?.(toPosition(seg, offset));
            offset = limit;
            break;
          }
          if (walk.consumed === 0 && bytesRead >= RECORD_HEADER_BYTES) {
            want = recordLength(buf); // one record larger than the chunk
            continue;
          }
          break;
        }
        pos = toPosition(seg, offset);
      }
      return { entries, next: pos };
    },
    async close() {
      closed = true;
      for (const w of waiters.splice(0)) w.resolve();
      await open?.fd.close();
      open = undefined;
    },
  };
}

/** One small file per consumer under `dir`, replaced atomically and synced. */
export function createFileCheckpointStore(dir: string): CheckpointStore {
  const path = (name: string) => join(dir, `${name}.json`);
  let made: Promise<unknown> | undefined;
  return {
    async load(name) {
      try {
        const raw = JSON.parse(await fsp.readFile(path(name), 'utf8')) as { version?: number; position?: unknown };
        return typeof raw.position === 'number' && Number.isSafeInteger(raw.position) ? raw.position : undefined;
      } catch {
        return undefined;
      }
    },
    async save(name, position) {
      await (made ??= fsp.mkdir(dir, { recursive: true }));
      const tmp = `${path(name)}.tmp`;
      const fd = await fsp.open(tmp, 'w');
      try {
        await fd.writeFile(JSON.stringify({ version: 1, consumer: name, position, savedAt: new Date().toISOString() }));
        await fd.datasync();
      } finally {
        await fd.close();
      }
      await fsp.rename(tmp, path(name));
    },
  };
}
