// Officers' validation marks: folded in the order made into excluded ranges, and kept durably in a
// versioned file written atomically and re-read when another process changed it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ValidationMark } from '../../contracts/api.ts';
import { exclusionIndex, exclusionsFor, isExcluded, validSegments } from '../../contracts/validations.ts';
import { createValidationStore, loadValidations } from '../../api/validation-store.ts';

const T = Date.parse('2026-11-30T00:00:00Z');
const H = 3_600_000;
let n = 0;
const mark = (status: 'invalid' | 'valid', fromH: number, toH: number, extra: Partial<ValidationMark> = {}): ValidationMark => ({
  id: `m${++n}`, station: 's1', parameter: 'pm25', from: new Date(T + fromH * H).toISOString(), to: new Date(T + toH * H).toISOString(),
  status, reason: 'test', by: 'lan', at: new Date(T + n * 1000).toISOString(), ...extra,
});
const ranges = (marks: ValidationMark[]) => (exclusionsFor(exclusionIndex(marks), 's1').get('pm25') ?? []).map(([a, b]) => [(a - T) / H, (b - T) / H]);

describe('folding marks into excluded ranges', () => {
  it('merges overlapping invalid ranges and lets a later "valid" cut a hole', () => {
    expect(ranges([mark('invalid', 0, 4), mark('invalid', 3, 6)])).toEqual([[0, 6]]);
    expect(ranges([mark('invalid', 0, 6), mark('valid', 2, 3)])).toEqual([[0, 2], [3, 6]]);
  });
  it('applies marks in the order made, whatever their order in the file', () => {
    const first = mark('invalid', 0, 6);
    const later = mark('valid', 0, 6);
    expect(ranges([later, first])).toEqual([]);
    expect(ranges([mark('valid', 0, 6), mark('invalid', 1, 2)])).toEqual([[1, 2]]);
  });
  it('ignores revoked marks, and keeps parameters and stations apart', () => {
    const m = [mark('invalid', 0, 2, { revokedAt: new Date(T).toISOString() }), mark('invalid', 4, 5, { parameter: 'no2' }), mark('invalid', 7, 8, { station: 's2' })];
    const idx = exclusionIndex(m);
    expect(exclusionsFor(idx, 's1').has('pm25')).toBe(false);
    expect(isExcluded(idx, 's1', 'no2', T + 4 * H)).toBe(true);
    expect(isExcluded(idx, 's1', 'no2', T + 5 * H)).toBe(false); // the end is exclusive
    expect(isExcluded(idx, 's2', 'pm25', T + 7.5 * H)).toBe(true);
    expect(isExcluded(idx, 's1', 'pm25', T + 7.5 * H)).toBe(false);
  });
  it('gives the valid segments of a range', () => {
    expect(validSegments(0, 10, [[2, 3], [5, 12]])).toEqual([[0, 2], [3, 5]]);
    expect(validSegments(0, 10, [[-5, 20]])).toEqual([]);
  });
});

describe('the validations file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is versioned, written whole, and survives a restart; another process\'s change is seen', () => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-validations-'));
    const path = join(dir, 'validations.json');
    const a = createValidationStore(path);
    const m = a.add({ station: 's1', parameter: 'pm25', fromMs: T, toMs: T + H, status: 'invalid', reason: 'inlet fouled', by: 'lan' }, T);
    expect(loadValidations(path)).toEqual({ version: 1, marks: [m] });
    const b = createValidationStore(path); // a restart, or a worker thread with its own store
    expect(isExcluded(b.index(), 's1', 'pm25', T)).toBe(true);
    b.revoke(m.id, 'minh', 'wrong hour', T + H);
    expect(isExcluded(a.index(), 's1', 'pm25', T)).toBe(false); // a re-reads the changed file
    expect(a.marks()[0]).toMatchObject({ id: m.id, revokedBy: 'minh', revokeReason: 'wrong hour' });
    expect(a.revoke(m.id, 'lan', undefined)).toBeUndefined(); // already undone
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
  });
  it('refuses a damaged file with its path instead of starting empty', () => {
    dir = mkdtempSync(join(tmpdir(), 'quantrac-validations-'));
    const path = join(dir, 'validations.json');
    writeFileSync(path, JSON.stringify({ version: 9, marks: [] }));
    expect(() => createValidationStore(path)).toThrow(path);
  });
});
