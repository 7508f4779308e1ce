// CLI configuration: one zod schema, parsed once and frozen; every option with its unit and default.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { FAULT_KINDS, isFaultKind, type FaultPlan } from './faults.ts';
import { SCENARIOS } from './scenarios.ts';
import { SimConfigError } from './errors.ts';

export const USAGE = `Usage: node sensors-sim/main.ts [options]     (npm run sim -- [options])

Simulates Hanoi's monitoring stations as MQTT gateways (one connection per gateway, QoS 1).

  --url URL              broker (env MQTT_URL; default mqtt://127.0.0.1:1883)
  --scenario NAME        ${SCENARIOS.join(' | ')} (default normal)
  --seed N               signal seed (default 7): same seed, same readings
  --speed X              simulated seconds per real second (default 1; 60 = 1 h per minute)
  --start ISO            simulated start time, readings stamped from here (default now)
  --rate X               sim: readings per station interval (default 1); --load: readings/s overall
  --stations LIST        kinds (air,water,rain,flood,street,river), ids or globs (air-0*); default all
  --duration D           stop after D real time: 90, 90s, 10m, 2h (default: run until Ctrl-C; --load 30s)
  --faults LIST|all      ${FAULT_KINDS.join(',')} (sensor-faults scenario: all)
  --fault-rate P         share of readings given a payload fault, and of station-hours stuck (default 0.05)
  --fault-every S        real seconds between disconnect/burst faults (default 60)
  --batch-gateways LIST  gateway ids/globs publishing JSON arrays on gateways/{id}/readings
                         (default gw-rain-*,gw-water-*; "none" for none)
  --credentials FILE     {"<gatewayId>": "<password>"} (env SIM_CREDENTIALS); absent: no username
  --registry FILE        station registry (env REGISTRY_PATH; default contracts/stations.json)
  --ts-format F          iso (+07:00, default) | epoch (ms)
  --load                 load mode: --rate readings/s, --inflight N unacked, --connections N
  --inflight N           load mode: most unacknowledged QoS 1 publishes (default 1000)
  --connections N        load mode: gateway connections (default: all gateways of the stations)
  --help                 this text
`;

const number = z.coerce.number().finite();

/** "90", "90s", "10m", "2h" → seconds. */
export function parseDurationS(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new SimConfigError(`--duration: "${text}" is not a duration like 90s, 10m or 2h`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export const ConfigSchema = z.object({
  url: z.string().regex(/^(mqtts?|tcp|wss?):\/\//, 'an mqtt:// URL'),
  scenario: z.enum(SCENARIOS),
  seed: number.int(),
  /** Simulated seconds per real second. */
  speed: number.positive().max(1_000_000),
  /** Simulated start, epoch ms. */
  startMs: number.int(),
  /** sim: multiplier of each station's rate; load: readings per second overall. */
  rate: number.positive(),
  stations: z.string().optional(),
  /** Real seconds to run; undefined = until stopped. */
  durationS: number.positive().optional(),
  faults: z.custom<FaultPlan>().optional(),
  faultEveryS: number.positive(),
  batchGateways: z.string(),
  credentials: z.record(z.string(), z.string()).optional(),
  registryPath: z.string().optional(),
  tsFormat: z.enum(['iso', 'epoch']),
  load: z.boolean(),
  inflight: number.int().positive(),
  connections: number.int().positive().optional(),
  help: z.boolean(),
});
export type SimConfig = Readonly<z.infer<typeof ConfigSchema>>;

function readCredentials(path: string | undefined): Record<string, string> | undefined {
  if (!path) return undefined;
  try {
    return z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new SimConfigError(`--credentials ${path}: not a readable {"gatewayId": "password"} JSON file`, { cause: err });
  }
}

function faultPlan(list: string | undefined, rate: number, scenario: string): FaultPlan | undefined {
  const text = list ?? (scenario === 'sensor-faults' ? 'all' : undefined);
  if (!text || text === 'none') return undefined;
  const kinds = text === 'all' ? [...FAULT_KINDS] : text.split(',').map((s) => s.trim());
  const unknown = kinds.filter((k) => !isFaultKind(k));
  if (unknown.length) throw new SimConfigError(`--faults: unknown ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
  return { kinds: kinds.filter(isFaultKind), rate };
}

/** Parses argv (without node and script) and the environment into a frozen config. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SimConfig {
  const stringOptions = ['url', 'scenario', 'seed', 'speed', 'start', 'rate', 'stations', 'duration', 'faults', 'fault-rate', 'fault-every', 'batch-gateways', 'credentials', 'registry', 'ts-format', 'inflight', 'connections'];
  const options: Record<string, { type: 'string' | 'boolean' }> = { load: { type: 'boolean' }, help: { type: 'boolean' } };
  for (const k of stringOptions) options[k] = { type: 'string' };
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: [...argv], strict: true, options }).values;
  } catch (err) {
    throw new SimConfigError((err as Error).message, { cause: err });
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const scenario = str('scenario') ?? 'normal';
  const startText = str('start');
  const startMs = startText === undefined ? Date.now() : Date.parse(startText);
  if (!Number.isFinite(startMs)) throw new SimConfigError(`--start: "${startText}" is not an ISO time`);
  const load = values.load === true;
  const durationText = str('duration') ?? (load ? '30s' : undefined);
  const raw = {
    url: str('url') ?? env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    scenario,
    seed: str('seed') ?? 7,
    speed: str('speed') ?? 1,
    startMs,
    rate: str('rate') ?? (load ? 1000 : 1),
    stations: str('stations'),
    durationS: durationText === undefined ? undefined : parseDurationS(durationText),
    faults: faultPlan(str('faults'), Number(str('fault-rate') ?? 0.05), scenario),
    faultEveryS: str('fault-every') ?? 60,
    batchGateways: str('batch-gateways') ?? 'gw-rain-*,gw-water-*',
    credentials: readCredentials(str('credentials') ?? env.SIM_CREDENTIALS),
    registryPath: str('registry') ?? env.REGISTRY_PATH,
    tsFormat: str('ts-format') ?? 'iso',
    load,
    inflight: str('inflight') ?? 1000,
    connections: str('connections'),
    help: values.help === true,
  };
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new SimConfigError(`invalid options:\n${z.prettifyError(parsed.error)}`);
  return Object.freeze(parsed.data);
}
