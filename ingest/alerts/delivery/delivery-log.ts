// The webhook delivery log: one JSON line per state change of a delivery under DATA_DIR/alerts/
// deliveries.jsonl (append; no fsync — a lost last line only repeats a delivery, which receivers
// dedupe by its id). At open the log is read, compacted to the latest line per delivery, and the
// deliveries that were still pending are handed back to be resumed. A write that fails (disk full,
// file replaced) is reported to `onWriteError` and never thrown: deliveries go on, the in-memory
// index (GET …/deliveries) stays complete, only a restart could repeat them.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeliveryRecord, DeliveryStatus } from '../../../contracts/alerts-api.ts';

export type { DeliveryRecord, DeliveryStatus };

export interface DeliveryLog {
  record(r: DeliveryRecord): void;
  /** Every delivery of one alert, oldest first. */
  forAlert(alertId: string): DeliveryRecord[];
  /** Deliveries that were neither delivered nor given up when the log was opened. */
  unfinished(): DeliveryRecord[];
}

const FINAL: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'failed', 'dropped']);

/** Opens (and compacts) the log; records older than `retainMs` that are final are forgotten. */
export function openDeliveryLog(
  path: string,
  opts: { readonly retainMs: number; readonly nowMs?: number; readonly onWriteError?: (err: unknown) => void },
): DeliveryLog {
  const now = opts.nowMs ?? Date.now();
  const latest = new Map<string, DeliveryRecord>();
  if (existsSync(path)) {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        const r = JSON.parse(line) as DeliveryRecord;
        // `body` is written only on the first line of a delivery; keep it until the delivery is final.
        const prev = latest.get(r.deliveryId);
        latest.set(r.deliveryId, prev?.body && !r.body ? { ...r, body: prev.body } : r);
      } catch {
        // a torn last line: that change is lost, the delivery is resumed from its previous state
      }
    }
  }
  for (const [id, r] of latest) {
    if (FINAL.has(r.status) && r.updatedAt < now - opts.retainMs) latest.delete(id);
    else if (FINAL.has(r.status) && r.body) latest.set(id, { ...r, body: undefined });
  }
  const guarded = (write: () => void): void => {
    try {
      write();
    } catch (err) {
      opts.onWriteError?.(err);
    }
  };
  guarded(() => {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, [...latest.values()].map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(tmp, path);
  });

  const unfinished = [...latest.values()].filter((r) => !FINAL.has(r.status));
  const byAlert = new Map<string, Map<string, DeliveryRecord>>();
  const index = (r: DeliveryRecord) => {
    let m = byAlert.get(r.alertId);
    if (!m) byAlert.set(r.alertId, (m = new Map()));
    const { body: _body, ...shown } = r;
    m.set(r.deliveryId, shown);
  };
  for (const r of latest.values()) index(r);

  return {
    record(r) {
      index(r);
      guarded(() => appendFileSync(path, `${JSON.stringify(r)}\n`));
    },
    forAlert: (alertId) => [...(byAlert.get(alertId)?.values() ?? [])].sort((a, b) => a.createdAt - b.createdAt),
    unfinished: () => unfinished,
  };
}
