// One private influxd for the whole test run, on free ports with its data in a temporary folder;
// each test file uses its own database in it. A user's InfluxDB is never touched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalInfluxd } from '../../ops/local-influxd.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    influxUrl: string;
    influxDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-test-influxd-'));
  const influxd = await startLocalInfluxd({ dir });
  project.provide('influxUrl', influxd.url);
  project.provide('influxDir', dir);
  return async () => {
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
