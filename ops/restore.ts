// `npm run restore -- --from DIR [--influx-rpc HOST:PORT] [--no-influx]`: puts a backup made by
// ops/backup.ts onto a machine: checks every file against the manifest, fills an empty DATA_DIR,
// loads InfluxDB through `influxd restore -portable` (into INFLUX_DATABASE, which must not exist
// yet), and puts the settings files back where they are missing (never over an existing one; those
// and the ones it may not write are listed with the backup's copy). Start quantrac afterwards: it resumes from the restored checkpoints, so the log
// records that had not reached InfluxDB at backup time are delivered then.
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../server/config.ts';
import { CONFIG, restoreConfig } from './backup-config.ts';
import { DATA, INFLUX, MANIFEST, MANIFEST_FORMAT, MANIFEST_VERSION, sha256File, type Manifest } from './backup-files.ts';
import { influxRpc } from './backup.ts';

const USAGE = `usage: npm run restore -- --from DIR [--influx-rpc HOST:PORT] [--no-influx]
  --from DIR             a folder written by npm run backup
  --influx-rpc HOST:PORT influxd's backup/RPC address (default as for backup)
  --no-influx            DATA_DIR only`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, 'influx-rpc': { type: 'string' }, 'no-influx': { type: 'boolean' }, help: { type: 'boolean' } } });
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
  const checked = [...manifest.files.map((f) => ({ ...f, at: join(from, DATA, f.path) })), ...(manifest.config ?? []).map((c) => ({ ...c, at: join(from, CONFIG, c.name) }))];
  for (const f of checked) {
    if ((await sha256File(f.at).catch(() => undefined)) !== f.sha256) {
      process.stderr.write(`restore: ${f.path} does not match its checksum in the manifest; the backup is damaged\n`);
      return 1;
    }
  }
  const present = (await readdir(config.dataDir).catch(() => [])).filter((n) => n !== 'influxdb');
  if (present.length > 0) {
    process.stderr.write(`restore: DATA_DIR ${config.dataDir} is not empty (${present.slice(0, 3).join(', ')}…); restore into a new one\n`);
    return 2;
  }
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
  return 0;
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
