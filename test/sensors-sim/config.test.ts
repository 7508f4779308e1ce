// CLI configuration, station selection and reconnect backoff: the small pure pieces around the transport.
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../../contracts/stations.ts';
import { backoffDelayMs } from '../../sensors-sim/backoff.ts';
import { loadConfig, parseDurationS } from '../../sensors-sim/config.ts';
import { SimConfigError } from '../../sensors-sim/errors.ts';
import { createMatcher, selectStations } from '../../sensors-sim/select.ts';

describe('config', () => {
  it('with only --url: normal scenario, real time, every station at its interval, no faults, runs until stopped', () => {
    const c = loadConfig(['--url', 'mqtt://broker:1883'], {});
    expect(c).toMatchObject({ url: 'mqtt://broker:1883', scenario: 'normal', speed: 1, rate: 1, load: false, durationS: undefined, faults: undefined });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes the broker from MQTT_URL and the credentials file path from SIM_CREDENTIALS', () => {
    expect(loadConfig([], { MQTT_URL: 'mqtt://10.0.0.1:1883' }).url).toBe('mqtt://10.0.0.1:1883');
    expect(() => loadConfig([], { SIM_CREDENTIALS: '/nonexistent/creds.json' })).toThrow(SimConfigError);
  });

  it('sensor-faults turns every fault on; --faults picks some; unknown names are a config error', () => {
    expect(loadConfig(['--scenario', 'sensor-faults'], {}).faults?.kinds).toContain('disconnect');
    expect(loadConfig(['--faults', 'spike,duplicate', '--fault-rate', '0.5'], {}).faults).toEqual({ kinds: ['spike', 'duplicate'], rate: 0.5 });
    expect(() => loadConfig(['--faults', 'gremlins'], {})).toThrow(SimConfigError);
    expect(() => loadConfig(['--scenario', 'apocalypse'], {})).toThrow(SimConfigError);
    expect(() => loadConfig(['--what'], {})).toThrow(SimConfigError);
  });

  it('durations read as seconds, minutes, hours; load mode defaults to 30 s at 1000 readings/s', () => {
    expect([parseDurationS('90'), parseDurationS('90s'), parseDurationS('10m'), parseDurationS('2h')]).toEqual([90, 90, 600, 7200]);
    expect(() => parseDurationS('soon')).toThrow(SimConfigError);
    expect(loadConfig(['--load'], {})).toMatchObject({ load: true, durationS: 30, rate: 1000, inflight: 1000 });
  });
});

describe('station selection', () => {
  const stations = loadRegistry().stations;
  it('selects by kind, flood type, id and glob', () => {
    expect(selectStations(stations, 'river').map((s) => s.id).sort()).toEqual(['flood-batha', 'flood-longbien', 'flood-sontay', 'flood-thuongcat', 'flood-trungha']);
    expect(selectStations(stations, 'street').every((s) => s.kind === 'flood' && s.floodType === 'street')).toBe(true);
    expect(selectStations(stations, 'air-001,rain-00*').map((s) => s.id)).toEqual(['air-001', 'rain-001', ...Array.from({ length: 8 }, (_, i) => `rain-00${i + 2}`)]);
    expect(selectStations(stations, undefined)).toHaveLength(stations.length);
    expect(createMatcher('gw-rain-*')('gw-rain-03')).toBe(true);
    expect(createMatcher('gw-rain-*')('gw-air-03')).toBe(false);
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially, is capped, and keeps at least half of each step under jitter', () => {
    const opts = { minMs: 1000, maxMs: 30_000 };
    expect([0, 1, 2, 3].map((a) => backoffDelayMs(a, opts, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffDelayMs(20, opts, () => 1)).toBe(30_000);
    expect(backoffDelayMs(3, opts, () => 0)).toBe(4000);
    for (let a = 0; a < 10; a++) {
      const d = backoffDelayMs(a, opts);
      expect(d).toBeGreaterThanOrEqual(Math.min(30_000, 1000 * 2 ** a) / 2);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });
});
