// CLI: rebuilds the hourly and daily rollups of a range from the raw readings in InfluxDB (after an
// upgrade, or after changing what the rollups leave out). Uses the server's INFLUX_* settings, and
// leaves out what officers marked invalid (DATA_DIR/validations.json; with NATS_URL, the cluster's
// KV bucket quantrac_validations, read only), as the running server does.
//   npm run rollups -- --from 2026-01-01T00:00:00+07:00 --to 2026-12-01T00:00:00+07:00 [--stations a,b]
import { parseArgs } from 'node:util';
import { loadRegistry } from '../contracts/stations.ts';
import { createInfluxHttp } from '../ingest/influx/influx-http.ts';
import { rebuildRollups } from '../ingest/rollups/rebuild.ts';
import { parseConfig } from '../server/config.ts';
import { runCli } from './run-cli.ts';
import { influxTargets } from '../server/influx-targets.ts';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { createKvValidationStore, openValidationsBucket, VALIDATIONS_BUCKET } from '../api/kv-validation-store.ts';
import { createValidationStore, type ValidationStore } from '../api/validation-store.ts';
import { exclusionPredicate } from '../server/create-validations.ts';

const USAGE = 'usage: npm run rollups -- --from ISO --to ISO [--stations id,id,...]';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, stations: { type: 'string', multiple: true }, help: { type: 'boolean' } } });
  const fromMs = Date.parse(values.from ?? '');
  const toMs = Math.min(Date.parse(values.to ?? ''), Date.now());
  if (values.help || !Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = parseConfig(process.env);
  const targets = influxTargets(config);
  const raw = createInfluxHttp(targets.raw);
  await raw.ensureDatabase(); // the rollup retention policy must exist before the first write
  const stationIds = values.stations?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const nc = config.natsServers.length > 0 ? await connect({ servers: [...config.natsServers], name: 'quantrac-rollups-cli' }) : undefined;
  const marks: ValidationStore & { close?: () => Promise<void> } = nc
    ? await createKvValidationStore(await openValidationsBucket(nc), { onBadEntry: (key, problem) => process.stderr.write(`${key}: entry in ${VALIDATIONS_BUCKET} not a mark, left out (${problem})\n`) })
    : createValidationStore(join(config.dataDir, 'validations.json'));
  const total = await rebuildRollups({
    registry: loadRegistry(config.REGISTRY_PATH), raw, rollups: createInfluxHttp(targets.rollups), fromMs, toMs, stationIds,
    excluded: exclusionPredicate(marks),
    onDay: (day, s) => process.stderr.write(`${new Date(day).toISOString()}  ${s.hours} hours, ${s.points} points\n`),
  }).finally(async () => {
    await marks.close?.();
    await nc?.close();
  });
  process.stdout.write(`rebuilt ${total.hours} station-hours and ${total.days} station-days: ${total.points} rollup points written\n`);
  return 0;
}

runCli(main);
