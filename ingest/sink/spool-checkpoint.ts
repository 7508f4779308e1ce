// The spool's read checkpoint: where the InfluxDB writer resumes after a restart. Written with an
// atomic rename; losing it only means replaying points InfluxDB already has (idempotent).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { SpoolPosition } from './spool.ts';

const FILE = 'checkpoint.json';

export async function readCheckpoint(dir: string): Promise<SpoolPosition | undefined> {
  try {
    const raw = JSON.parse(await fsp.readFile(join(dir, FILE), 'utf8')) as Partial<SpoolPosition>;
    if (Number.isSafeInteger(raw.segment) && Number.isSafeInteger(raw.offset)) {
      return { segment: raw.segment!, offset: raw.offset! };
    }
  } catch {
    // missing or unreadable: start from the oldest segment
  }
  return undefined;
}

export async function writeCheckpoint(dir: string, pos: SpoolPosition): Promise<void> {
  const tmp = join(dir, `${FILE}.tmp`);
  await fsp.writeFile(tmp, JSON.stringify(pos));
  await fsp.rename(tmp, join(dir, FILE));
}
