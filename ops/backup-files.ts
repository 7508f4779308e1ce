// What a backup holds and in which order its DATA_DIR files are copied (ops/backup.ts,
// ops/restore.ts). DATA_DIR is copied whole, minus the private influxd's folder (InfluxDB is backed
// up by its own tool) and lock/temp files. Order matters while quantrac runs: checkpoints first,
// then journals, then other state, log segments last. An older checkpoint than the log only means a
// replay (idempotent: a point rewritten overwrites itself); a segment released during the copy was
// confirmed by InfluxDB before, and InfluxDB is backed up after DATA_DIR, so it holds those points.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ConfigFile } from './backup-config.ts';
import type { KvBucketFile } from './backup-kv.ts';

export const MANIFEST = 'manifest.json';
export const MANIFEST_FORMAT = 'quantrac-backup';
/** 2: settings files in `config` (ops/backup-config.ts); 3: the cluster's KV buckets in `kv` (ops/backup-kv.ts). Restore reads 1 to 3. */
export const MANIFEST_VERSION = 3;
/** Folder of the copied DATA_DIR inside a backup. */
export const DATA = 'data';
/** Folder of `influxd backup -portable` inside a backup. */
export const INFLUX = 'influxdb';

export interface BackupFile {
  /** Relative to DATA_DIR, with `/` separators. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: number;
  readonly createdAt: string;
  readonly quantracVersion: string;
  readonly dataDir: string;
  /** Absent when InfluxDB was not backed up (--no-influx). */
  readonly influx?: { readonly database: string; readonly tool: string };
  readonly files: readonly BackupFile[];
  /** Settings files outside DATA_DIR (version 2; absent in version 1). */
  readonly config?: readonly ConfigFile[];
  /** The cluster's KV buckets, when backed up with NATS_URL (version 3). */
  readonly kv?: readonly KvBucketFile[];
}

/** DATA_DIR entries a backup leaves out: the private influxd, lock and temp files. */
export function isExcluded(path: string): boolean {
  const top = path.split('/')[0];
  return top === 'influxdb' || /\.lock$|\.tmp$|\.\d+\.tmp$/.test(path);
}

/** Copy rank: checkpoints, journals, other state, then log segments (lower first). */
export function copyRank(path: string): number {
  const name = path.split('/').at(-1) ?? path;
  if (/checkpoint/i.test(path)) return 0;
  if (/journal/i.test(name)) return 1;
  if (/\.seg$/.test(name)) return 3;
  return 2;
}

/** Every file under `dir` (relative, `/`-separated), in copy order. */
export async function listDataFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((p) => !isExcluded(p));
  return files.sort((a, b) => copyRank(a) - copyRank(b) || a.localeCompare(b));
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The RPC address of the private influxd `npm start` runs (DATA_DIR/influxdb/influxd.conf), if any. */
export function rpcAddressOf(configText: string): string | undefined {
  return /^bind-address\s*=\s*"([^"]+)"/m.exec(configText)?.[1];
}
