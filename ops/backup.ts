// `npm run backup -- --out DIR [--influx-rpc HOST:PORT] [--no-influx]`: everything needed to bring
// quantrac back on another machine, while it runs: DATA_DIR (log, checkpoints, credentials,
// accounts, token secret, alert state, audit trail; order in backup-files.ts), the settings files
// outside it (environment file, station registry, alert rules: backup-config.ts), then InfluxDB
// through its own tool (`influxd backup -portable`, 1.x); with NATS_URL, the cluster's KV buckets
// (backup-kv.ts). DIR gets manifest.json with a checksum per file. Restore: ops/restore.ts.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { parseConfig } from '../server/config.ts';
import { ConfigError } from '../server/errors.ts';
import { backupConfig, configSources } from './backup-config.ts';
import { backupKv, type KvBucketFile } from './backup-kv.ts';
import { DATA, INFLUX, listDataFiles, MANIFEST, MANIFEST_FORMAT, MANIFEST_VERSION, rpcAddressOf, sha256File, type BackupFile, type Manifest } from './backup-files.ts';

const USAGE = `usage: npm run backup -- --out DIR [--influx-rpc HOST:PORT] [--no-influx]
  --out DIR              new or empty folder for the backup
  --influx-rpc HOST:PORT influxd's backup/RPC address (default: the private influxd's in
                         DATA_DIR/influxdb/influxd.conf, else 127.0.0.1:8088 as Debian's influxdb)
  --no-influx            DATA_DIR only (InfluxDB 2.x/3.x: use their own backup tools)
With NATS_URL, the cluster's KV buckets (gateways, users, validation marks, API secret) as well.`;

/** The influxd RPC address: the flag, the private influxd's config, or Debian's default. */
export async function influxRpc(flag: string | undefined, dataDir: string): Promise<string> {
  if (flag) return flag;
  const conf = await readFile(join(dataDir, 'influxdb', 'influxd.conf'), 'utf8').catch(() => '');
  return rpcAddressOf(conf) ?? '127.0.0.1:8088';
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, 'influx-rpc': { type: 'string' }, 'no-influx': { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help || !values.out) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = parseConfig(process.env);
  const out = resolve(values.out);
  if ((await readdir(out).catch(() => [])).length > 0) {
    process.stderr.write(`backup: ${out} is not empty; give a new folder\n`);
    return 2;
  }
  await mkdir(join(out, DATA), { recursive: true, mode: 0o700 });
  const files: BackupFile[] = [];
  for (const path of await listDataFiles(config.dataDir)) {
    const from = join(config.dataDir, path);
    const to = join(out, DATA, path);
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    try {
      await copyFile(from, to);
    } catch (err) {
      // Released meanwhile (a log segment InfluxDB confirmed, an alert journal a snapshot covers).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    files.push({ path, bytes: (await stat(to)).size, sha256: await sha256File(to) });
  }
  const settingsFiles = await backupConfig(out, configSources(process.env, config.dataDir));
  let kv: KvBucketFile[] | undefined;
  if (config.natsServers.length > 0) {
    const nc = await connect({ servers: [...config.natsServers], name: 'quantrac-backup' });
    try {
      kv = await backupKv(nc, out);
    } finally {
      await nc.close();
    }
  }
  let influx: Manifest['influx'];
  if (!values['no-influx']) {
    if (config.influxApi !== 'v1') throw new ConfigError([`backup: InfluxDB ${config.INFLUX_URL} is used through the v2 API; back it up with its own tool and run with --no-influx`]);
    const rpc = await influxRpc(values['influx-rpc'], config.dataDir);
    const args = ['backup', '-portable', '-database', config.INFLUX_DATABASE, '-host', rpc, join(out, INFLUX)];
    execFileSync('influxd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    influx = { database: config.INFLUX_DATABASE, tool: `influxd ${args.slice(0, -1).join(' ')}` };
  }
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const manifest: Manifest = {
    format: MANIFEST_FORMAT, version: MANIFEST_VERSION, createdAt: new Date().toISOString(), quantracVersion: pkg.version,
    dataDir: config.dataDir, ...(influx ? { influx } : {}), files, config: settingsFiles, ...(kv ? { kv } : {}),
  };
  await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(`backup: ${files.length} DATA_DIR files${settingsFiles.length > 0 ? `, settings ${settingsFiles.map((c) => c.path).join(', ')}` : ''}${kv ? `, KV ${kv.map((b) => `${b.bucket} (${b.entries})`).join(', ')}` : ''}${influx ? ` and InfluxDB database ${influx.database}` : ''} in ${out}\n`);
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`backup failed: ${err instanceof Error ? err.message : String(err)}${err instanceof Error && 'stderr' in err ? `\n${String(err.stderr)}` : ''}\n`);
      process.exit(1);
    },
  );
}
