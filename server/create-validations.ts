// Wiring of officers' validation marks: the durable store under DATA_DIR, the audit trail of its
// changes, the rollups, which leave marked values out and recompute the hours a change touches,
// and the alerts, which do not judge marked values.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isExcluded } from '../contracts/validations.ts';
import { createValidationStore, type ValidationStore } from '../api/validation-store.ts';
import { createAuditLog, type AuditEvent } from './audit-log.ts';

const HOUR_MS = 3_600_000;

export interface Validations {
  readonly store: ValidationStore;
  readonly audit: (event: AuditEvent) => void;
  /** Rollups' exclusion: the marks in force now, as a predicate (true = an officer marked it invalid). */
  readonly excluded: () => (stationId: string, parameter: string, tsMs: number) => boolean;
  /** After a change: mark the touched hours for the rollups to recompute (set by connectRollups). */
  onChange?: (change: { station: string; fromMs: number; toMs: number }) => void;
}

export function createValidations(opts: { dataDir: string; auditLogPath: string; log: Logger; onBadRead?: (problem: string) => void }): Validations {
  const store = createValidationStore(join(opts.dataDir, 'validations.json'), opts.onBadRead ? { onBadRead: opts.onBadRead } : {});
  const auditLog = createAuditLog(opts.auditLogPath);
  return {
    store,
    audit: (event) => void auditLog.append(event).catch((err: unknown) => opts.log.error({ err, event }, 'audit log write failed')),
    excluded: exclusionPredicate(store),
  };
}

/** The rollups' exclusion of a store: each call takes the marks in force then, as a predicate. */
export function exclusionPredicate(store: Pick<ValidationStore, 'index'>): Validations['excluded'] {
  return () => {
    const index = store.index();
    return (stationId, parameter, tsMs) => isExcluded(index, stationId, parameter, tsMs);
  };
}

/**
 * The alerts' view of the marks: asked once per reading, so it does not stat validations.json each
 * time — it takes the store's index again after a change made through the API (`invalidate`) and at
 * most `maxAgeMs` later for an edit from outside (another process, a restored file). Undefined
 * while no mark is in force, so readings pay nothing then.
 */
export function alertExclusion(store: Pick<ValidationStore, 'index'>, maxAgeMs = 1000, now: () => number = Date.now) {
  let index = store.index();
  let takenAt = now();
  const predicate = (stationId: string, parameter: string, tsMs: number) => isExcluded(index, stationId, parameter, tsMs);
  return {
    excluded(): ((stationId: string, parameter: string, tsMs: number) => boolean) | undefined {
      const t = now();
      if (t - takenAt >= maxAgeMs) {
        index = store.index();
        takenAt = t;
      }
      return index.size > 0 ? predicate : undefined;
    },
    invalidate(): void {
      index = store.index();
      takenAt = now();
    },
  };
}

/** The station-hours a change of marks touches, as the rollups' dirty marks take them (one per hour). */
export function touchedHours({ station, fromMs, toMs }: { station: string; fromMs: number; toMs: number }): { stationId: string; ts: number }[] {
  const hours: { stationId: string; ts: number }[] = [];
  for (let h = Math.floor(fromMs / HOUR_MS) * HOUR_MS; h < toMs; h += HOUR_MS) hours.push({ stationId: station, ts: h });
  return hours;
}

/** Recomputes the rollups of every hour a change touches (they are marked dirty like new readings). */
export function connectRollups(v: Validations, rollups: { onReadings(r: Iterable<{ stationId: string; ts: number }>): Promise<void> }, log: Logger): void {
  v.onChange = (change) => {
    rollups.onReadings(touchedHours(change)).catch((err: unknown) => log.error({ err, station: change.station }, 'could not mark rollups for recomputation after a validation change'));
  };
}
