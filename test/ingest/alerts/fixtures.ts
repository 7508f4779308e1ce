// Shared fixtures of the alert tests: a small registry, a rules builder and reading helpers.
import { createRegistry, RegistrySchema, type Registry } from '../../../contracts/stations.ts';
import type { Reading } from '../../../contracts/reading.ts';
import { parseRules, type RulesFile } from '../../../ingest/alerts/rules.ts';

const place = { ward: 'Hồng Hà', wardType: 'phường', formerDistrict: 'Hoàn Kiếm', lat: 21.04, lon: 105.85, gatewayId: 'gw-test' };

export const registry: Registry = createRegistry(
  RegistrySchema.parse({
    version: 1,
    updated: '2026-01-01',
    stations: [
      { ...place, id: 'flood-longbien', kind: 'flood', floodType: 'river', name: 'Long Biên', river: 'Hồng', gauge: 'Hà Nội', levelsM: { I: 9.5, II: 10.5, III: 11.5 }, intervalS: 300 },
      { ...place, id: 'street-001', kind: 'flood', floodType: 'street', name: 'Nguyễn Khuyến', intervalS: 120 },
      { ...place, id: 'air-001', kind: 'air', name: 'Hoàn Kiếm', intervalS: 60 },
      { ...place, id: 'water-b', kind: 'water', waterClass: 'B', name: 'Tô Lịch', intervalS: 300 },
      { ...place, id: 'rain-001', kind: 'rain', name: 'Hà Đông', intervalS: 300 },
    ],
  }),
);

export const T0 = Date.parse('2026-03-01T00:00:00Z');
export const MIN = 60_000;
export const HOUR = 3_600_000;

export function rules(list: unknown[], extra: Record<string, unknown> = {}): RulesFile {
  return parseRules({ version: 1, rules: list, ...extra }, 'test');
}

export const lv = (key: string, set: number, clear: number, severity = 'minor') => ({
  key, label: { vi: key, en: key }, severity, set, clear,
});

export function reading(stationId: string, ts: number, values: Record<string, number>): Reading {
  const kind = registry.get(stationId)?.kind ?? 'air';
  return { stationId, kind, ts, values };
}
