// Persistence across restarts: a new engine on the same directory continues the open alert (same
// id, no second `opened`), keeps debounce and rolling-window state, and survives a torn journal.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertEngine } from '../../../ingest/alerts/engine.ts';
import { createAlertStore } from '../../../ingest/alerts/store.ts';
import type { RulesFile } from '../../../ingest/alerts/rules.ts';
import { HOUR, MIN, T0, lv, reading, registry, rules } from './fixtures.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quantrac-alerts-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const depth = (extra: Record<string, unknown> = {}) =>
  rules([{ id: 'depth', signal: 'threshold', kind: 'flood', floodType: 'street', parameter: 'depth_cm', updateEveryS: 86_400, levels: [lv('wet', 10, 5), lv('deep', 30, 25, 'moderate')], ...extra }]);
const start = (r: RulesFile, t = T0) => createAlertEngine({ registry, rules: r, store: createAlertStore(dir), clock: () => t });
const street = (min: number, depth_cm: number) => reading('street-001', T0 + min * MIN, { depth_cm });

describe('restart', () => {
  it('continues the open alert from the journal alone (crash without snapshot)', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    await a.durable(); // what ingest waits for before acknowledging the reading
    // no close(), no flush(): the process dies here
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.state).toBe('active');
    expect(b.onReading(street(1, 13))).toEqual([]);
    const escalated = b.onReading(street(2, 35));
    expect(escalated.map((e) => [e.type, e.alert.id])).toEqual([['escalated', opened!.alert.id]]);
    const cleared = b.onReading(street(3, 1));
    expect(cleared.map((e) => [e.type, e.alert.id])).toEqual([['cleared', opened!.alert.id]]);
    expect(b.list()).toHaveLength(1);
  });

  it('keeps the debounce timer across a snapshot', () => {
    const r = depth({ openAfterS: 600 });
    const a = start(r);
    for (let m = 0; m <= 5; m++) expect(a.onReading(street(m, 12))).toEqual([]);
    a.close();
    const b = start(r);
    const events = [6, 7, 8, 9, 10].flatMap((m) => b.onReading(street(m, 12)));
    expect(events.map((e) => [e.type, e.at])).toEqual([['opened', T0 + 10 * MIN]]);
  });

  it('keeps rolling windows so a 24 h mean continues after restart', () => {
    const r = rules([{ id: 'pm25-24h', signal: 'qcvn05', parameter: 'pm25', window: '24h', levels: [lv('exceeds', 1, 0.95)] }]);
    const a = start(r);
    for (let t = 0; t < 17 * HOUR; t += 10 * MIN) expect(a.onReading(reading('air-001', T0 + t, { pm25: 60 }))).toEqual([]);
    a.close();
    const b = start(r);
    const events = [];
    for (let t = 17 * HOUR; t < 19 * HOUR; t += 10 * MIN) events.push(...b.onReading(reading('air-001', T0 + t, { pm25: 60 })));
    expect(events.filter((e) => e.type === 'opened').map((e) => e.at)).toEqual([T0 + 18 * HOUR]); // 75 % of 24 h covered, counting the 17 h before the restart
  });

  it('keeps acknowledgements', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    a.acknowledge(opened!.alert.id, { by: 'officer-1', at: T0 + MIN });
    await a.durable();
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.acknowledged?.by).toBe('officer-1');
    expect(b.list({ acknowledged: true })).toHaveLength(1);
  });

  it('recovers from a torn last journal line and keeps appending', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    await a.durable();
    appendFileSync(join(dir, 'alerts-journal.0.ndjson'), '{"seq":2,"event":{"type":"clea');
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.state).toBe('active');
    b.onReading(street(1, 0));
    await b.durable();
    const lines = readFileSync(join(dir, 'alerts-journal.0.ndjson'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { event: { type: string } }).event.type)).toEqual(['opened', 'cleared']);
    const c = start(depth());
    expect(c.get(opened!.alert.id)?.state).toBe('cleared');
  });

  it('orders journal entries by seq even when close() writes before a commit in flight lands', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    a.onReading(street(1, 35));
    a.close(); // writes what is queued synchronously
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.level.key).toBe('deep');
  });

  it('does not replay journal entries already in the snapshot', async () => {
    const a = start(depth());
    a.onReading(street(0, 12));
    a.onReading(street(1, 0));
    await a.flush();
    a.onReading(street(2, 12));
    await a.durable();
    const b = start(depth());
    expect(b.list().map((x) => x.state).sort()).toEqual(['active', 'cleared']);
    expect(b.onReading(street(3, 12))).toEqual([]);
  });

  it('keeps events journalled while a snapshot is being written, and drops older journal generations once it is on disk', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    await a.durable();
    expect(journals()).toEqual(['alerts-journal.0.ndjson']);
    const snapshot = a.flush(); // serialised now, written off the event loop
    const escalated = a.onReading(street(1, 35)); // journalled meanwhile, in the next generation
    await Promise.all([snapshot, a.durable()]);
    expect(escalated.map((e) => e.type)).toEqual(['escalated']);
    expect(journals()).toEqual(['alerts-journal.1.ndjson']);
    // the process dies here (no close): the escalation is not in the snapshot, only in generation 1
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.level.key).toBe('deep');
    expect(b.onReading(street(2, 36))).toEqual([]);
  });

  it('recovers from a crash between a snapshot and the deletion of the journal it covers', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    await a.durable();
    const kept = readFileSync(join(dir, 'alerts-journal.0.ndjson'));
    await a.flush();
    writeFileSync(join(dir, 'alerts-journal.0.ndjson'), kept); // as if the deletion never happened
    a.onReading(street(1, 0));
    await a.durable();
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.state).toBe('cleared');
    expect(b.list()).toHaveLength(1);
  });

  it('reads the journal of earlier versions (one file, no generations)', async () => {
    const a = start(depth());
    const [opened] = a.onReading(street(0, 12));
    await a.durable();
    renameSync(join(dir, 'alerts-journal.0.ndjson'), join(dir, 'alerts-journal.ndjson'));
    const b = start(depth());
    expect(b.get(opened!.alert.id)?.state).toBe('active');
    await b.flush();
    expect(journals()).toEqual([]);
    const c = start(depth());
    expect(c.get(opened!.alert.id)?.state).toBe('active');
  });
});

const journals = () => readdirSync(dir).filter((f) => f.startsWith('alerts-journal')).sort();
