// The station registry generator (contracts/registry/generate-stations.ts): deterministic, keeps
// the v1 stations, covers the city, and scales for load tests without touching the committed file.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatRegistry, generateRegistry, LEGACY_STATIONS, WARDS } from '../../contracts/registry/generate-stations.ts';
import { RegistrySchema } from '../../contracts/stations.ts';

describe('station registry generator', () => {
  const reg = generateRegistry();

  it('reproduces the committed contracts/stations.json exactly', () => {
    const committed = readFileSync(new URL('../../contracts/stations.json', import.meta.url), 'utf8');
    expect(formatRegistry(reg)).toBe(committed);
  });

  it('keeps the ten version-1 stations unchanged', () => {
    for (const s of LEGACY_STATIONS) expect(reg.stations.find((x) => x.id === s.id)).toEqual(s);
    expect(LEGACY_STATIONS).toHaveLength(10);
  });

  it('has the required counts, intervals and about ten stations per gateway', () => {
    const count = (pred: (s: (typeof reg.stations)[number]) => boolean) => reg.stations.filter(pred).length;
    expect(count((s) => s.kind === 'air')).toBeGreaterThanOrEqual(100);
    expect(count((s) => s.kind === 'water')).toBeGreaterThanOrEqual(30);
    expect(count((s) => s.kind === 'rain')).toBeGreaterThanOrEqual(60);
    expect(count((s) => s.kind === 'flood' && s.floodType === 'street')).toBeGreaterThanOrEqual(40);
    expect(count((s) => s.kind === 'flood' && s.floodType === 'river')).toBe(5);
    const interval = { air: 60, water: 300, rain: 300, street: 120, river: 300 };
    for (const s of reg.stations) expect(s.intervalS).toBe(interval[s.kind === 'flood' ? s.floodType : s.kind]);
    const perGateway = new Map<string, number>();
    for (const s of reg.stations) perGateway.set(s.gatewayId, (perGateway.get(s.gatewayId) ?? 0) + 1);
    expect(Math.max(...perGateway.values())).toBeLessThanOrEqual(10);
  });

  it('places a station in every one of the 51 wards', () => {
    expect(WARDS).toHaveLength(51);
    const wards = new Set(reg.stations.map((s) => s.ward));
    for (const w of WARDS) expect(wards.has(w.ward), w.ward).toBe(true);
  });

  it('--scale builds a larger valid registry, deterministically, containing the base one', () => {
    const big = generateRegistry({ scale: 2000 });
    expect(big.stations).toHaveLength(2000);
    expect(RegistrySchema.safeParse(big).success).toBe(true);
    expect(big.stations.slice(0, reg.stations.length)).toEqual(reg.stations);
    expect(generateRegistry({ scale: 2000 })).toEqual(big);
    expect(() => generateRegistry({ scale: 10 })).toThrow(RangeError);
  });
});
