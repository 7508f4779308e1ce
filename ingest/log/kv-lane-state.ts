// A consumer lane's durable state in cluster mode (LaneStateStore of ingest/consumers/lane-state.ts,
// on the replicated KV bucket quantrac_checkpoints instead of local files): key `{name}` holds the
// checkpoint, `{name}.state` the snapshot. Nothing on a node's disk: the lane can resume on any
// node. Every write is a compare-and-set on the revision this store last read or wrote, and
// claim() moves both revisions on, so once a new owner of the lane has claimed it, an old owner
// that still runs (a lease it lost, a pause) can write nothing more: its saves fail with
// LaneFencedError. Any other failure (the cluster out of reach, a timeout) is a LaneStateSaveError:
// the save is tried again with the next one, after adopting the key's revision if the write landed.
//
//   owner B takes the lease ─▶ claim(): read + rewrite both keys (revisions move)
//   old owner A saves ─▶ CAS on its old revision ─▶ LaneFencedError (A stops)
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { LaneSnapshot, LaneStateStore } from '../consumers/lane-state.ts';
import { CHECKPOINT_BUCKET } from './jetstream-log.ts';
import type { LogPosition } from './types.ts';

export class LaneFencedError extends Error {
  override readonly name = 'LaneFencedError';
}

/** A save that failed for another reason than a newer owner (the cluster unreachable, a timeout). */
export class LaneStateSaveError extends Error {
  override readonly name = 'LaneStateSaveError';
}

/** The compare-and-set lost: the key moved past the revision this store knows. */
const casLost = (err: unknown) =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * How long after a claim its writes must still be their keys' latest before the claim counts:
 * nats-server before 2.9.21 can accept an old owner's save and the claim on the same revision
 * (nats-server#4320), the later one stored; a claim overtaken that way reads again and re-claims.
 */
export const CLAIM_SETTLE_MS = 250;

/** Waits CLAIM_SETTLE_MS, then throws LaneFencedError unless each key is still at the revision given (0: absent). */
export async function settleClaim(kv: KV, keys: ReadonlyMap<string, number>): Promise<void> {
  await new Promise((r) => setTimeout(r, CLAIM_SETTLE_MS));
  for (const [key, revision] of keys) {
    if (((await kv.get(key))?.revision ?? 0) !== revision) throw new LaneFencedError(`${key}: another write overtook the claim`);
  }
}

/**
 * Writes `value` with compare-and-set on `revision` (0: the key never existed; undefined: no claim
 * yet) and hands the new revision to `adopt`. A lost compare-and-set is LaneFencedError; any other
 * failure LaneStateSaveError — after adopting the key's revision if it now holds `value` (a timeout
 * may follow a stored write: without that the next write would lose its compare-and-set against
 * this one and count itself fenced for good).
 */
export async function writeFenced(kv: KV, key: string, value: string, revision: number | undefined, owner: string, adopt: (revision: number) => void): Promise<void> {
  if (revision === undefined) throw new LaneFencedError(`${owner}: write before claim()`);
  try {
    adopt(revision === 0 ? await kv.create(key, value) : await kv.update(key, value, revision));
  } catch (err) {
    if (casLost(err)) throw new LaneFencedError(`${owner}: ${key} was written by another owner`, { cause: err });
    const now = await kv.get(key).catch(() => null);
    if (now && now.operation === 'PUT' && now.string() === value) adopt(now.revision);
    throw new LaneStateSaveError(`${owner}: ${key} not saved (${err instanceof Error ? err.message : String(err)}); the next save tries again`, { cause: err });
  }
}

export interface KvLaneState extends LaneStateStore {
  /** Makes this store the lane's only writer (call once, before the lane opens). */
  claim(): Promise<void>;
}

const STATE_VERSION = 1;

export async function openLaneStateBucket(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).open(CHECKPOINT_BUCKET);
}

export function createKvLaneState(kv: KV, name: string): KvLaneState {
  if (!/^[-_a-zA-Z0-9]+$/.test(name)) throw new Error(`lane name ${JSON.stringify(name)} is not a valid key`);
  const checkpointKey = name;
  const snapshotKey = `${name}.state`;
  /** Revision last read or written per key; 0 = the key never existed. */
  const revisions = new Map<string, number>();

  async function read(key: string): Promise<Record<string, unknown> | undefined> {
    const e = await kv.get(key);
    revisions.set(key, e?.revision ?? 0);
    if (!e || e.operation !== 'PUT') return undefined;
    try {
      return JSON.parse(e.string()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  async function write(key: string, value: string): Promise<void> {
    await writeFenced(kv, key, value, revisions.get(key), `lane ${name}`, (r) => revisions.set(key, r));
  }

  const position = (raw: Record<string, unknown> | undefined) =>
    typeof raw?.position === 'number' && Number.isSafeInteger(raw.position) ? raw.position : undefined;

  return {
    async claim() {
      for (let attempt = 0; ; attempt++) {
        try {
          for (const key of [checkpointKey, snapshotKey]) {
            const e = await kv.get(key);
            revisions.set(key, e?.revision ?? 0);
            if (e && e.operation === 'PUT') await write(key, e.string());
          }
          await settleClaim(kv, new Map([checkpointKey, snapshotKey].map((k) => [k, revisions.get(k) ?? 0])));
          return;
        } catch (err) {
          // The old owner wrote between our read and rewrite: read its newer state and try again.
          if (!(err instanceof LaneFencedError) || attempt >= 5) throw err;
        }
      }
    },
    async loadCheckpoint() {
      return position(await read(checkpointKey));
    },
    async saveCheckpoint(at: LogPosition) {
      await write(checkpointKey, JSON.stringify({ version: STATE_VERSION, consumer: name, position: at }));
    },
    async loadSnapshot(): Promise<LaneSnapshot | undefined> {
      const raw = await read(snapshotKey);
      const at = position(raw);
      return at === undefined ? undefined : { position: at, state: raw!.state };
    },
    async saveSnapshot(snapshot) {
      await write(snapshotKey, JSON.stringify({ version: STATE_VERSION, consumer: name, position: snapshot.position, state: snapshot.state }));
    },
  };
}

/**
 * The release rule of the replicated log: purges the stream below the oldest snapshot any of the
 * named lanes may still replay from. A lane without a snapshot holds everything.
 */
export async function releaseSnapshotted(nc: NatsConnection, kv: KV, stream: string, lanes: readonly string[]): Promise<LogPosition | undefined> {
  let floor = Number.POSITIVE_INFINITY;
  for (const lane of lanes) {
    const e = await kv.get(`${lane}.state`);
    if (!e || e.operation !== 'PUT') return undefined;
    const at = (JSON.parse(e.string()) as { position?: unknown }).position;
    if (typeof at !== 'number') return undefined;
    floor = Math.min(floor, at);
  }
  if (!Number.isFinite(floor) || floor <= 1) return undefined;
  await (await jetstreamManager(nc)).streams.purge(stream, { seq: floor });
  return floor;
}
