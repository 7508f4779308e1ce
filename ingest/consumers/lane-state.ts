// A lane's durable state: its checkpoint (where its effects are done up to; rewritten often, tiny)
// and a snapshot of its derived state (quality windows, alert engine) taken at an exact log
// position at or before the checkpoint (rewritten every few seconds). A restart restores the
// snapshot, replays the records between the two positions without repeating their effects, and
// carries on from the checkpoint: the state is the one an uninterrupted run would have.
//
// The snapshot is only ever written once the checkpoint has reached it, so on disk
// snapshot.position ≤ checkpoint always holds. Files: <name>.json and <name>.state.json, each
// replaced atomically (tmp, fdatasync, rename).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { LogPosition } from '../log/types.ts';
import { LaneStateError } from './errors.ts';

export interface LaneSnapshot {
  readonly position: LogPosition;
  readonly state: unknown;
}

export interface LaneStateStore {
  loadCheckpoint(): Promise<LogPosition | undefined>;
  saveCheckpoint(position: LogPosition): Promise<void>;
  loadSnapshot(): Promise<LaneSnapshot | undefined>;
  saveSnapshot(snapshot: LaneSnapshot): Promise<void>;
}

/** Format of both files (`version` at the top level); a newer one is refused, not misread. */
export const STATE_FORMAT_VERSION = 1;

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = await fsp.open(tmp, 'w');
  try {
    await fd.writeFile(text);
    await fd.datasync();
  } finally {
    await fd.close();
  }
  await fsp.rename(tmp, path);
}

/**
 * The file's JSON, or undefined when it is missing or unreadable (a lost checkpoint or snapshot
 * only means a longer replay). Throws LaneStateError for a file of a newer format.
 */
async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await fsp.readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw?.version === 'number' && raw.version > STATE_FORMAT_VERSION) {
    throw new LaneStateError(path, `${path} is format ${raw.version}, written by a newer quantrac (this one reads up to ${STATE_FORMAT_VERSION}); restore the backup taken before the upgrade to go back`);
  }
  return raw;
}

export function createLaneStateStore(dir: string, name: string): LaneStateStore {
  const checkpointPath = join(dir, `${name}.json`);
  const snapshotPath = join(dir, `${name}.state.json`);
  let made: Promise<unknown> | undefined;
  const mkdir = () => (made ??= fsp.mkdir(dir, { recursive: true }));
  return {
    async loadCheckpoint() {
      const raw = await readJson(checkpointPath);
      return typeof raw?.position === 'number' && Number.isSafeInteger(raw.position) ? raw.position : undefined;
    },
    async saveCheckpoint(position) {
      await mkdir();
      await writeAtomic(checkpointPath, JSON.stringify({ version: STATE_FORMAT_VERSION, consumer: name, position }));
    },
    async loadSnapshot() {
      const raw = await readJson(snapshotPath);
      if (typeof raw?.position !== 'number' || !Number.isSafeInteger(raw.position)) return undefined;
      return { position: raw.position, state: raw.state };
    },
    async saveSnapshot(snapshot) {
      await mkdir();
      await writeAtomic(snapshotPath, JSON.stringify({ version: STATE_FORMAT_VERSION, consumer: name, position: snapshot.position, state: snapshot.state }));
    },
  };
}
