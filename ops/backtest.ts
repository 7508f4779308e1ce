// CLI: replays the readings stored in InfluxDB over a past window through a rules file and prints
// which alerts would have opened, escalated, de-escalated and cleared. Uses the server's INFLUX_*
// settings from the environment; never touches the running engine.
//   npm run backtest -- --from 2024-09-07T00:00:00+07:00 --to 2024-09-14T00:00:00+07:00 [--rules FILE] [--stations a,b] [--json]
import { parseArgs } from 'node:util';
import { loadRegistry } from '../contracts/stations.ts';
import { backtestStored } from '../ingest/alerts/backtest-source.ts';
import { createInfluxHttp } from '../ingest/influx/influx-http.ts';
import { parseConfig } from '../server/config.ts';
import { influxTargets } from '../server/influx-targets.ts';
import { SUMMARY_REPORT, loadAlertRules, summarise } from '../server/create-alerts.ts';
import { runCli } from './run-cli.ts';

const USAGE = 'usage: npm run backtest -- --from ISO --to ISO [--rules FILE] [--stations id,id,...] [--json]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, to: { type: 'string' }, rules: { type: 'string' }, stations: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  const fromMs = Date.parse(values.from ?? '');
  const toMs = Date.parse(values.to ?? '');
  if (values.help || !Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = parseConfig(process.env);
  const registry = loadRegistry(config.REGISTRY_PATH);
  const rules = loadAlertRules(values.rules ?? config.ALERT_RULES_PATH);
  const stationIds = values.stations?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const influx = createInfluxHttp(influxTargets(config).raw);
  const report = summarise(await backtestStored({ influx, registry, rules, fromMs, toMs, stationIds, report: SUMMARY_REPORT }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [`backtest ${report.from} → ${report.to}: ${report.readings} readings`, ''];
  for (const e of report.events) out.push(`${e.at}  ${e.type.padEnd(11)} ${e.stationId.padEnd(16)} ${e.ruleId.padEnd(22)} ${e.level} (${e.severity}) value ${e.value}`);
  out.push('', 'per rule: opened / escalated / de-escalated / cleared');
  for (const [rule, c] of Object.entries(report.byRule)) out.push(`  ${rule.padEnd(24)} ${c.opened} / ${c.escalated} / ${c.deescalated} / ${c.cleared}`);
  out.push(`still active at the end: ${report.stillActive.length}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

runCli(main);
