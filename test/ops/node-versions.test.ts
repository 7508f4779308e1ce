// The runtimes package.json promises: the suite itself runs on the Node 24 that npm installed
// (node_modules/.bin/node, first on PATH in npm scripts, so `npm test` and .ci/run use it), and
// the lowest Node `engines` admits (22.18, fetched from the npm registry with `npm exec`) runs the
// real server: it starts, answers /readyz and stores a reading published over MQTT.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { setGatewayPassword } from '../../broker/gateway-credentials.ts';
import { eventually, influxRows, uniqueDatabase } from '../support/influx.ts';
import { serverProcessEnv } from '../support/server-process.ts';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; devDependencies: { node: string } };
const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-node22-'));
let server: ChildProcess | undefined;
afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Node versions', () => {
  it('the suite runs on the Node 24 npm installed into node_modules/.bin', () => {
    expect(pkg.devDependencies.node).toMatch(/^\^24\./);
    expect(process.versions.node).toMatch(/^24\./);
    expect(realpathSync(process.execPath)).toBe(realpathSync(join(root, 'node_modules/.bin/node')));
  });

  it('the lowest Node `engines` admits runs the server: /readyz, and a reading over MQTT is stored', async () => {
    const floor = /^>=(\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
    expect(floor).toBe('22.18');
    const node = execFileSync('npm', ['exec', '--yes', `--package=node@${floor}.0`, '--', 'node', '-p', 'process.execPath'], { cwd: tmpdir(), encoding: 'utf8' }).trim().split('\n').pop()!;
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${floor}.0`);

    const database = uniqueDatabase('node22');
    const password = await setGatewayPassword(join(dataDir, 'gateways.json'), 'gw-air-01');
    server = fork(join(root, 'server/main.ts'), [], {
      execPath: node,
      env: { PATH: process.env.PATH, ...serverProcessEnv(database, dataDir) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ mqtt: string; http: string }>((resolve, reject) => {
      server!.once('message', (m) => resolve(m as { mqtt: string; http: string }));
      server!.once('exit', (code) => reject(new Error(`the server on Node ${floor} exited (${code})`)));
    });
    expect(await (await fetch(`${ready.http}/readyz`)).json()).toMatchObject({ status: 'ready' });

    const gw = await mqtt.connectAsync(ready.mqtt, { clientId: 'gw-air-01', username: 'gw-air-01', password, protocolVersion: 4, reconnectPeriod: 0 });
    await gw.publishAsync('sensors/air-001/reading', JSON.stringify({ ts: new Date().toISOString(), seq: 7, values: { pm25: 41.2 } }), { qos: 1 });
    await gw.endAsync();
    const rows = await eventually(async () => {
      const r = await influxRows(database, 'SELECT "pm25", "seq" FROM "air"');
      return r.length > 0 ? r : undefined;
    }, 15_000, 'the reading in InfluxDB');
    expect(rows).toMatchObject([{ pm25: 41.2, seq: 7 }]);

    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = undefined;
  }, 120_000);
});
