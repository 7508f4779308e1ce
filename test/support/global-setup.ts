// One private influxd for the whole test run, on free ports with its data in a temporary folder;
// each test file uses its own database in it. A user's InfluxDB is never touched.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** Test influxds orphaned by an earlier run that was killed before its teardown (parent gone). */
function killOrphans(): void {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (cmd.startsWith('influxd') && cmd.includes('quantrac-test-influxd-') && ppid === 1) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  killOrphans();
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-test-influxd-'));
  const influxd = await startLocalInfluxd({ dir });
  project.provide('influxUrl', influxd.url);
  project.provide('influxDir', dir);
  return async () => {
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
