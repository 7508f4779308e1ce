// Recovery scan of one spool segment: how many leading bytes hold whole records with good
// checksums. Anything after the first bad or short record is a torn write from a crash.
import { promises as fsp } from 'node:fs';
import { crc32 } from 'node:zlib';

const HEADER = 8;
const CHUNK = 1 << 20;

export async function scanSegment(path: string): Promise<{ validBytes: number; records: number; corrupt: number }> {
  const fd = await fsp.open(path, 'r');
  try {
    const { size } = await fd.stat();
    let offset = 0;
    let records = 0;
    let buf = Buffer.allocUnsafe(CHUNK);
    while (offset + HEADER <= size) {
      const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, size - offset), offset);
      let at = 0;
      while (at + HEADER <= bytesRead) {
        const len = buf.readUInt32LE(at);
        if (offset + at + HEADER + len > size) return { validBytes: offset + at, records, corrupt: 1 };
        if (at + HEADER + len > bytesRead) break;
        const body = buf.subarray(at + HEADER, at + HEADER + len);
        if (crc32(body) !== buf.readUInt32LE(at + 4)) return { validBytes: offset + at, records, corrupt: 1 };
        records++;
        at += HEADER + len;
      }
      if (at === 0) buf = Buffer.allocUnsafe(HEADER + buf.readUInt32LE(0));
      offset += at;
    }
    return { validBytes: offset, records, corrupt: offset < size ? 1 : 0 };
  } finally {
    await fd.close();
  }
}
