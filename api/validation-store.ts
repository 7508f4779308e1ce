// Durable store of officers' validation marks: `DATA_DIR/validations.json`, versioned
// (`{"version":1,"marks":[…]}`), written atomically (temp file, fsync, rename, fsync of the folder),
// re-read when another process or thread changed it. Small on purpose: load/save plus add/revoke,
// so a worker thread can open the same file with its own store. A damaged file stops the start; a
// version damaged while running (a hand edit, a bad restore) leaves the last good one in force and
// refuses changes until it is fixed (server/last-good-file.ts), so alerts and rollups go on.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ValidationMarkSchema, type ValidationMark, type ValidationStatus } from '../contracts/api.ts';
import { exclusionIndex, type ExclusionIndex } from '../contracts/validations.ts';
import { createLastGoodFile } from '../server/last-good-file.ts';

export const VALIDATIONS_FILE_VERSION = 1;
const FileSchema = z.object({ version: z.literal(VALIDATIONS_FILE_VERSION), marks: z.array(ValidationMarkSchema) });
export type ValidationsFile = z.infer<typeof FileSchema>;

const EMPTY: ValidationsFile = { version: VALIDATIONS_FILE_VERSION, marks: [] };

function parseValidations(path: string, text: string): ValidationsFile {
  const parsed = FileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path}: not a validations file (version ${VALIDATIONS_FILE_VERSION}): ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** Reads the file; a missing file is an empty store, a damaged one an error naming the file. */
export function loadValidations(path: string): ValidationsFile {
  if (!existsSync(path)) return EMPTY;
  return parseValidations(path, readFileSync(path, 'utf8'));
}

/** The file on disk is not the version in use (damaged while running): marks cannot be changed. */
export class ValidationsFileUnusableError extends Error {
  override readonly name = 'ValidationsFileUnusableError';
}

/** Writes the whole file atomically: a reader sees the old or the new file, never half of one. */
export function saveValidations(path: string, file: ValidationsFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export interface NewMark {
  readonly station: string;
  readonly parameter: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly status: ValidationStatus;
  readonly reason: string;
  readonly by: string;
}

export interface ValidationStore {
  /** Every mark, oldest first (revoked ones included). */
  marks(): readonly ValidationMark[];
  /** The excluded ranges of the active marks. */
  index(): ExclusionIndex;
  /** Changes with every add/revoke (also another process's): part of cache keys. */
  revision(): string;
  /** Stores a new mark (the file at once; the cluster's KV bucket once a quorum has it). */
  add(mark: NewMark, nowMs?: number): ValidationMark | Promise<ValidationMark>;
  /** Why the stored marks are not the ones in use (changes are refused meanwhile), else undefined. */
  problem(): string | undefined;
  /** Undoes a mark; undefined when there is no such active mark. */
  revoke(id: string, by: string, reason: string | undefined, nowMs?: number): ValidationMark | undefined | Promise<ValidationMark | undefined>;
}

/** The file store: its changes are written before they return. */
export interface FileValidationStore extends ValidationStore {
  add(mark: NewMark, nowMs?: number): ValidationMark;
  revoke(id: string, by: string, reason: string | undefined, nowMs?: number): ValidationMark | undefined;
}

/** A new mark as stored: a fresh id, the range as ISO times, who and when. */
export function newMark(m: NewMark, nowMs: number): ValidationMark {
  return {
    id: randomUUID(),
    station: m.station,
    parameter: m.parameter,
    from: new Date(m.fromMs).toISOString(),
    to: new Date(m.toMs).toISOString(),
    status: m.status,
    reason: m.reason,
    by: m.by,
    at: new Date(nowMs).toISOString(),
  };
}

/** A mark undone: it stays on record with who undid it, when and why. */
export function revokedMark(old: ValidationMark, by: string, reason: string | undefined, nowMs: number): ValidationMark {
  return { ...old, revokedAt: new Date(nowMs).toISOString(), revokedBy: by, ...(reason ? { revokeReason: reason } : {}) };
}

export function createValidationStore(path: string, opts: { readonly onBadRead?: (problem: string) => void } = {}): FileValidationStore {
  loadValidations(path); // a damaged file at start is an error naming it, not an empty store
  const source = createLastGoodFile<ValidationsFile>({ path, parse: (text) => parseValidations(path, text), absent: EMPTY, ...(opts.onBadRead ? { onBadRead: opts.onBadRead } : {}) });
  let file = source.get();
  let idx = exclusionIndex(file.marks);

  function fresh(): void {
    const now = source.get();
    if (now === file) return;
    file = now;
    idx = exclusionIndex(file.marks);
  }
  function writable(): void {
    fresh();
    const problem = source.problem();
    if (problem) throw new ValidationsFileUnusableError(problem);
  }
  function commit(next: ValidationsFile): void {
    saveValidations(path, next);
    fresh();
  }

  return {
    marks: () => (fresh(), file.marks),
    index: () => (fresh(), idx),
    revision: () => (fresh(), `${file.marks.length}:${source.revision()}`),
    problem: () => source.problem(),
    add(m, nowMs = Date.now()) {
      writable();
      const mark = newMark(m, nowMs);
      commit({ version: VALIDATIONS_FILE_VERSION, marks: [...file.marks, mark] });
      return mark;
    },
    revoke(id, by, reason, nowMs = Date.now()) {
      writable();
      const old = file.marks.find((x) => x.id === id && x.revokedAt === undefined);
      if (!old) return undefined;
      const done = revokedMark(old, by, reason, nowMs);
      commit({ version: VALIDATIONS_FILE_VERSION, marks: file.marks.map((x) => (x.id === id ? done : x)) });
      return done;
    },
  };
}
