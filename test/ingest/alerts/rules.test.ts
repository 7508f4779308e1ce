// The rules file: the shipped default is valid, and a bad file is refused with every problem listed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertRulesError } from '../../../ingest/alerts/errors.ts';
import { loadRules, parseRules } from '../../../ingest/alerts/rules.ts';
import { compileRules } from '../../../ingest/alerts/signals.ts';
import { lv } from './fixtures.ts';

function problems(raw: unknown): string[] {
  try {
    parseRules(raw, 'test');
  } catch (err) {
    if (err instanceof AlertRulesError) return [...err.problems];
    throw err;
  }
  throw new Error('expected AlertRulesError');
}

describe('rules.default.json', () => {
  it('loads, compiles and covers every signal', () => {
    const file = loadRules();
    expect(file.version).toBe(1);
    const signals = new Set(compileRules(file).map((s) => s.rule.signal));
    expect([...signals].sort()).toEqual(
      ['flood_level', 'qcvn05', 'qcvn08', 'rain_accumulation', 'rate_of_rise', 'silence', 'threshold', 'vn_aqi_hourly'],
    );
    expect(Object.isFrozen(file.rules)).toBe(true);
  });
});

describe('validation', () => {
  it('lists every problem of a bad file, with its path', () => {
    const list = problems({
      version: 1,
      rules: [
        { id: 'dup', signal: 'rain_accumulation', windowH: 2, levels: [lv('a', 50, 60)] },
        { id: 'dup', signal: 'rain_accumulation', windowH: 2, levels: [lv('a', 50, 45), lv('b', 40, 35)] },
        { id: 'pm10-1h', signal: 'qcvn05', parameter: 'pm10', window: '1h', levels: [lv('x', 1, 0.9)] },
        { id: 'bad-param', signal: 'threshold', kind: 'water', parameter: 'pm25', levels: [lv('x', 1, 0.5)] },
        { id: 'Bad Id', signal: 'no_such_signal' },
      ],
    });
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rules\.0\.levels\.0: clear \(60\) must be on the safe side/),
        expect.stringMatching(/^rules\.1\.id: duplicate rule id dup/),
        expect.stringMatching(/^rules\.1\.levels\.1: levels must be ordered/),
        expect.stringMatching(/^rules\.2\.window: QCVN 05:2023 has no 1h limit for pm10/),
        expect.stringMatching(/^rules\.3\.parameter: water stations have no parameter pm25/),
      ]),
    );
  });
  it('reports schema errors (wrong version, unknown signal) with their path', () => {
    const list = problems({ version: 0, rules: [{ id: 'x1', signal: 'nope' }] });
    expect(list.some((p) => p.startsWith('version:'))).toBe(true);
    expect(list.some((p) => p.startsWith('rules.0'))).toBe(true);
  });
  it('refuses an unreadable file with a rules error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quantrac-rules-'));
    const path = join(dir, 'rules.json');
    writeFileSync(path, '{ not json');
    try {
      expect(() => loadRules(path)).toThrow(AlertRulesError);
      expect(() => loadRules(path)).toThrow(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
