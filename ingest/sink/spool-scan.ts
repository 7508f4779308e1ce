// Recovery scan of one spool segment: how many leading bytes hold whole records with good
// checksums. Anything after the first bad or short record is a torn write from a crash.
import { promises as fsp } from 'node:fs';
import { recordLength, RECORD_HEADER_BYTES, walkRecords } from './spool-records.ts';

const CHUNK = 1 << 20;

export async function scanSegment(path: string): Promise<{ validBytes: number; records: number; corrupt: number }> {
  const fd = await fsp.open(path, 'r');
  try {
    const { size } = await fd.stat();
    let offset = 0;
    let records = 0;
    let buf = Buffer.allocUnsafe(CHUNK);
    while (offset + RECORD_HEADER_BYTES <= size) {
      const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, size - offset), offset);
      const walk = walkRecords(buf, bytesRead, () => ++records > 0);
      if (walk.corrupt) return { validBytes: offset + walk.consumed, records, corrupt: 1 };
      if (walk.consumed === 0) {
        const need = recordLength(buf);
        if (offset + need > size) return { validBytes: offset, records, corrupt: 1 }; // torn: body never made it
        buf = Buffer.allocUnsafe(need);
        continue;
      }
      offset += walk.consumed;
    }
    return { validBytes: offset, records, corrupt: offset < size ? 1 : 0 };
  } finally {
    await fd.close();
  }
}
