// Officers' validation marks for the writer and alerts roles: the API's KV store of the bucket
// quantrac_validations (api/kv-validation-store.ts), watched read-only — these roles never make or
// undo a mark — so they leave out the values the API processes leave out, by the same predicate.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { createKvValidationStore, openValidationsBucket, VALIDATIONS_BUCKET, type KvValidationStore, type KvValidationStoreOptions } from '../../api/kv-validation-store.ts';
import type { ValidationStore } from '../../api/validation-store.ts';

/** What a role reads of the marks: no add or revoke. */
export interface ValidationMarksView extends Pick<ValidationStore, 'index' | 'marks'>, Pick<KvValidationStore, 'watchedRevision' | 'changedSince'> {
  /** Marks in force (not undone), for /healthz. */
  active(): number;
  close(): Promise<void>;
}

/** Resolves once every stored mark is loaded; `onChange` as in the KV store (changes made after that). */
export async function watchValidationMarks(nc: NatsConnection, log: Logger, onChange?: KvValidationStoreOptions['onChange']): Promise<ValidationMarksView> {
  const store = await createKvValidationStore(await openValidationsBucket(nc), {
    onBadEntry: (key, problem) => log.error({ bucket: VALIDATIONS_BUCKET, key, problem }, 'validation mark not usable: left out'),
    ...(onChange ? { onChange } : {}),
  });
  return {
    index: () => store.index(),
    marks: () => store.marks(),
    watchedRevision: () => store.watchedRevision(),
    changedSince: (revision) => store.changedSince(revision),
    active: () => store.marks().filter((m) => m.revokedAt === undefined).length,
    close: () => store.close(),
  };
}
