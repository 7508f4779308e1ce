// Configuration: defaults, InfluxDB API selection, and every problem listed at once.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../server/config.ts';
import { ConfigError } from '../../server/errors.ts';

describe('config', () => {
  it('has working defaults and chooses the 1.x API without bucket or token', () => {
    const c = parseConfig({});
    expect(c.influxApi).toBe('v1');
    expect(c.MQTT_PORT).toBe(1883);
    expect(c.HTTP_PORT).toBe(8080);
    expect(c.SPOOL_FSYNC).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('chooses the 2.x/3.x API when a bucket and token are given', () => {
    expect(parseConfig({ INFLUX_BUCKET: 'b', INFLUX_TOKEN: 't', INFLUX_ORG: 'o' }).influxApi).toBe('v2');
  });

  it('lists every problem at once', () => {
    let err: unknown;
    try {
      parseConfig({ MQTT_PORT: 'abc', HTTP_PORT: '-1', INFLUX_URL: 'not a url', SPOOL_FSYNC: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const name of ['MQTT_PORT', 'HTTP_PORT', 'INFLUX_URL', 'SPOOL_FSYNC']) expect(problems).toContain(name);
  });

  it('refuses the 2.x API without a bucket and token, naming both', () => {
    expect(() => parseConfig({ INFLUX_API: 'v2' })).toThrow(/INFLUX_BUCKET[\s\S]*INFLUX_TOKEN/);
  });
});
