// Start-up check of the log's un-consumed records: a record type this quantrac does not know can
// only have been appended by a newer one (a downgrade). Consumers would skip it — losing the
// reading it carries — so start-up stops instead, naming where it is (docs/on-disk-formats.md).
import { isKnownRecordTag } from './records.ts';
import type { LogPosition, LogReader } from './types.ts';

/** A log record of a type this version cannot read. */
export class LogFormatError extends Error {
  override readonly name = 'LogFormatError';
  readonly position: LogPosition;
  readonly tag: number;

  constructor(position: LogPosition, tag: number) {
    super(`log record at position ${position} (segment ${Math.floor(position / 2 ** 32)}) has type 0x${tag.toString(16).padStart(2, '0')}, written by a newer quantrac; restore the backup taken before the upgrade to go back`);
    this.position = position;
    this.tag = tag;
  }
}

/** Reads every record from `from` to the reader's end; throws LogFormatError at the first unknown type. */
export async function checkRecordTypes(reader: LogReader, from: LogPosition): Promise<number> {
  let pos = from;
  let checked = 0;
  while (pos < reader.end()) {
    const { entries, next } = await reader.read(pos, 4096);
    for (const e of entries) {
      const tag = e.body[0] ?? 0;
      if (!isKnownRecordTag(tag)) throw new LogFormatError(e.position, tag);
    }
    checked += entries.length;
    if (entries.length === 0 || next <= pos) break;
    pos = next;
  }
  return checked;
}
