// `npm run restore -- --from DIR [--influx-rpc HOST:PORT] [--no-influx]`: puts a backup made by
// ops/backup.ts onto a machine: checks every file against the manifest, fills an empty DATA_DIR,
// loads InfluxDB through `influxd restore -portable` (into INFLUX_DATABASE, which must not exist
// yet), and puts the settings files back where they are missing (never over an existing one; those
// and the ones it may not write are listed with the backup's copy). With NATS_URL, writes the
// backup's KV entries back into the cluster's buckets (backup-kv.ts): a key that holds another value
// refuses the whole restore before anything is written, unless --overwrite-kv. Start quantrac afterwards: it resumes from the restored checkpoints, so the log
// records that had not reached InfluxDB at backup time are delivered then.
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseConfig, type Config } from '../server/config.ts';
import { CONFIG, restoreConfig } from './backup-config.ts';
import { applyKvRestore, KV_DIR, planKvRestore, type KvRestorePlan } from './backup-kv.ts';
import { DATA, INFLUX, MANIFEST, MANIFEST_FORMAT, MANIFEST_VERSION, sha256File, type Manifest } from './backup-files.ts';
import { influxRpc } from './backup.ts';

const USAGE = `usage: npm run restore -- --from DIR [--influx-rpc HOST:PORT] [--no-influx] [--kv-only] [--overwrite-kv]
  --from DIR             a folder written by npm run backup
  --influx-rpc HOST:PORT influxd's backup/RPC address (default as for backup)
  --no-influx            DATA_DIR only
  --kv-only              (with NATS_URL) the cluster's KV buckets only: DATA_DIR, InfluxDB and
                         settings files left alone
  --overwrite-kv         write the backup's value over a KV key that holds another one
                         (without it, such a key refuses the restore before anything is written)`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, 'influx-rpc': { type: 'string' }, 'no-influx': { type: 'boolean' }, 'kv-only': { type: 'boolean' }, 'overwrite-kv': { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help || !values.from) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = parseConfig(process.env);
  const from = resolve(values.from);
  const manifest = JSON.parse(await readFile(join(from, MANIFEST), 'utf8')) as Manifest;
  if (manifest.format !== MANIFEST_FORMAT || manifest.version > MANIFEST_VERSION) {
    process.stderr.write(`restore: ${from} is not a quantrac backup this version can read (format ${manifest.format} v${manifest.version})\n`);
    return 2;
  }
  const checked = [
    ...manifest.files.map((f) => ({ ...f, at: join(from, DATA, f.path) })),
    ...(manifest.config ?? []).map((c) => ({ ...c, at: join(from, CONFIG, c.name) })),
    ...(manifest.kv ?? []).map((k) => ({ ...k, path: `${KV_DIR}/${k.name}`, at: join(from, KV_DIR, k.name) })),
  ];
  for (const f of checked) {
    if ((await sha256File(f.at).catch(() => undefined)) !== f.sha256) {
      process.stderr.write(`restore: ${f.path} does not match its checksum in the manifest; the backup is damaged\n`);
      return 1;
    }
  }
  const withKv = config.natsServers.length > 0 && (manifest.kv ?? []).length > 0;
  if (values['kv-only'] && !withKv) {
    process.stderr.write(`restore: --kv-only needs NATS_URL and a backup made with it (${from} has ${manifest.kv ? 'KV buckets' : 'no KV buckets'})\n`);
    return 2;
  }
  const present = (await readdir(config.dataDir).catch(() => [])).filter((n) => n !== 'influxdb');
  if (present.length > 0 && !values['kv-only']) {
    process.stderr.write(`restore: DATA_DIR ${config.dataDir} is not empty (${present.slice(0, 3).join(', ')}…); restore into a new one\n`);
    return 2;
  }
  const nc = withKv ? await connect({ servers: [...config.natsServers], name: 'quantrac-restore' }) : undefined;
  try {
    return await restore(values, config, from, manifest, nc);
  } finally {
    await nc?.close();
  }
}

async function restore(values: { 'influx-rpc'?: string; 'no-influx'?: boolean; 'kv-only'?: boolean; 'overwrite-kv'?: boolean }, config: Config, from: string, manifest: Manifest, nc: NatsConnection | undefined): Promise<number> {
  let plan: KvRestorePlan | undefined;
  if (nc) {
    plan = await planKvRestore(nc, from, manifest.kv ?? []);
    if (plan.conflicts.length > 0 && !values['overwrite-kv']) {
      for (const k of plan.conflicts) process.stderr.write(`restore: ${k.bucket} key ${k.key} holds another value than the backup's\n`);
      process.stderr.write(`restore: nothing restored; run again with --overwrite-kv to write the backup's values over those ${plan.conflicts.length} key(s)\n`);
      return 2;
    }
  }
  if (!values['kv-only']) await restoreFiles(values, config, from, manifest);
  if (nc && plan) {
    const written = await applyKvRestore(nc, plan, values['overwrite-kv'] === true);
    const perBucket = new Map<string, number>();
    for (const k of written) perBucket.set(k.bucket, (perBucket.get(k.bucket) ?? 0) + 1);
    for (const [bucket, n] of perBucket) process.stdout.write(`restore: KV ${bucket}: ${n} key(s) written\n`);
    for (const k of plan.conflicts) process.stdout.write(`restore: KV ${k.bucket} key ${k.key} overwritten with the backup's value\n`);
    process.stdout.write(`restore: KV ${written.length} key(s) written, ${plan.same.length} already held the backup's value\n`);
  } else if ((manifest.kv ?? []).length > 0) {
    process.stdout.write(`restore: the backup holds the cluster's KV buckets; set NATS_URL to restore them\n`);
  }
  return 0;
}

async function restoreFiles(values: { 'influx-rpc'?: string; 'no-influx'?: boolean }, config: Config, from: string, manifest: Manifest): Promise<void> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  for (const f of manifest.files) {
    const to = join(config.dataDir, f.path);
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    await copyFile(join(from, DATA, f.path), to);
    await chmod(to, 0o600);
  }
  if (manifest.influx && !values['no-influx']) {
    const rpc = await influxRpc(values['influx-rpc'], config.dataDir);
    const args = ['restore', '-portable', '-db', manifest.influx.database, '-host', rpc];
    if (config.INFLUX_DATABASE !== manifest.influx.database) args.push('-newdb', config.INFLUX_DATABASE);
    execFileSync('influxd', [...args, join(from, INFLUX)], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const settings = await restoreConfig(from, manifest.config ?? []);
  for (const p of settings.restored) process.stdout.write(`restore: settings file ${p} put back\n`);
  for (const n of settings.notRestored) process.stdout.write(`restore: settings file ${n.path} not restored (${n.why}); the backup's copy is ${n.copy} — put it in place if it is the one wanted\n`);
  process.stdout.write(`restore: ${manifest.files.length} files into ${config.dataDir}${manifest.influx && !values['no-influx'] ? `, InfluxDB database ${config.INFLUX_DATABASE}` : ''}; start quantrac to deliver what the log still holds\n`);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`restore failed: ${err instanceof Error ? err.message : String(err)}${err instanceof Error && 'stderr' in err ? `\n${String(err.stderr)}` : ''}\n`);
      process.exit(1);
    },
  );
}
