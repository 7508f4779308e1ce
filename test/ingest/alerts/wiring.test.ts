// Alert wiring pieces without a server: ALERT_* settings are validated with every problem listed,
// an invalid rules file stops start-up as a ConfigError naming its problems, and the service hands
// events to channels only after the hot-path call has returned, isolating a failing channel.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../contracts/alerts.ts';
import { loadRegistry } from '../../../contracts/stations.ts';
import { loadRules } from '../../../ingest/alerts/rules.ts';
import { createAlertService } from '../../../ingest/alerts/service.ts';
import { createMemoryAlertStore } from '../../../ingest/alerts/store.ts';
import { parseConfig } from '../../../server/config.ts';
import { loadAlertRules } from '../../../server/create-alerts.ts';
import { ConfigError } from '../../../server/errors.ts';

const problemsOf = (fn: () => unknown): readonly string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('ALERT_* configuration', () => {
  it('reads webhooks as a JSON array or a comma list, and defaults to none', () => {
    expect(parseConfig({}).alertWebhookUrls).toEqual([]);
    const secret = 'sixteen-chars-secret';
    expect(parseConfig({ ALERT_WEBHOOKS: '["https://a.example/h","http://b.example/h"]', ALERT_WEBHOOK_SECRET: secret }).alertWebhookUrls).toEqual(['https://a.example/h', 'http://b.example/h']);
    expect(parseConfig({ ALERT_WEBHOOKS: 'https://a.example/h, https://b.example/h', ALERT_WEBHOOK_SECRET: secret }).alertWebhookUrls).toEqual(['https://a.example/h', 'https://b.example/h']);
  });

  it('lists every problem: a URL that is not http(s), a missing secret, backoff bounds', () => {
    const problems = problemsOf(() => parseConfig({ ALERT_WEBHOOKS: 'ftp://x/y,https://ok.example', ALERT_WEBHOOK_BACKOFF_BASE_MS: '5000', ALERT_WEBHOOK_BACKOFF_MAX_MS: '100' }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ALERT_WEBHOOKS: "ftp:\/\/x\/y"/),
        expect.stringMatching(/^ALERT_WEBHOOK_SECRET: required/),
        expect.stringMatching(/^ALERT_WEBHOOK_BACKOFF_MAX_MS/),
      ]),
    );
  });
});

describe('rules at start-up', () => {
  it('turns an invalid rules file into a ConfigError listing each problem with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quantrac-rules-'));
    try {
      const path = join(dir, 'rules.json');
      writeFileSync(path, JSON.stringify({ version: 1, rules: [{ id: 'a', signal: 'qcvn05', parameter: 'pm10', window: '1h' }, { id: 'a', signal: 'nope' }] }));
      const problems = problemsOf(() => loadAlertRules(path));
      expect(problems.length).toBeGreaterThanOrEqual(2);
      expect(problems.every((p) => p.startsWith(`ALERT_RULES_PATH (${path}) rules.`))).toBe(true);
      expect(loadAlertRules(undefined).rules.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alert service fan-out', () => {
  it('delivers after the hot-path call returns, in order, and a failing channel does not stop the others', async () => {
    const service = createAlertService({ registry: loadRegistry(), rules: loadRules(), store: createMemoryAlertStore(), log: pino({ level: 'silent' }), tickMs: 60_000, queueMax: 100 });
    const got: AlertEvent[] = [];
    service.addChannel({ name: 'broken', deliver: () => { throw new Error('down'); } });
    service.addChannel({ name: 'ok', deliver: (events) => got.push(...events) });
    const ts = Date.now() - 3_600_000;
    service.onReading({ stationId: 'flood-longbien', kind: 'flood', ts, values: { level_m: 9.6 } });
    service.onReading({ stationId: 'flood-longbien', kind: 'flood', ts: ts + 300_000, values: { level_m: 10.6 } });
    expect(got).toEqual([]); // nothing delivered inside the hot path
    await new Promise((r) => setImmediate(r));
    const flood = got.filter((e) => e.alert.ruleId === 'flood-river-level');
    expect(flood.map((e) => e.type)).toEqual(['opened', 'escalated']);
    expect(new Set(flood.map((e) => e.alert.id)).size).toBe(1);
    service.stop();
  });
});
