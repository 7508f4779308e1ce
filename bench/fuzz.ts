// Fuzzing the broker over TCP and the decode + validate stages: malformed input must never crash or
// hang quantrac, and a legitimate gateway publishing in between must lose nothing. `fuzzBroker`
// runs against any started server (the test uses a short seeded run); `runFuzzBench` starts its own
// server for `npm run bench` and runs for a duration.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import mqtt from 'mqtt';
import pino from 'pino';
import { REJECT_REASONS } from '../contracts/reading.ts';
import { loadRegistry } from '../contracts/stations.ts';
import { setGatewayPassword } from '../broker/gateway-credentials.ts';
import type { InfluxSeries } from '../ingest/influx/influx-http.ts';
import { decodePayload } from '../ingest/stages/decode.ts';
import { validateReading } from '../ingest/stages/validate.ts';
import { parseConfig } from '../server/config.ts';
import { startQuantrac } from '../server/create-quantrac.ts';
import { mqttSession, readingPayload, type FuzzIdentity } from './fuzz-inputs.ts';

export interface FuzzResult {
  readonly inputsTried: number;
  /** Uncaught errors, stage exceptions, unknown rejection reasons, or the server not answering. */
  readonly crashes: number;
  /** Fuzz connections the server neither answered nor closed within `hangMs`. */
  readonly hangs: number;
  /** Readings the legitimate gateway had acknowledged that are not in InfluxDB at the end. */
  readonly lost: number;
}

export interface FuzzTarget {
  readonly host: string;
  readonly port: number;
  /** The legitimate gateway: its readings go to `stationId` between fuzz inputs. */
  readonly legit: FuzzIdentity;
  /** A second real gateway whose credential the fuzzer uses to get past CONNECT. */
  readonly fuzzer: FuzzIdentity;
  /** How many readings of the legitimate station with these seq numbers are stored. */
  storedSeqs(): Promise<Set<number>>;
  /** Resolves when everything acknowledged is written. */
  flushed(): Promise<void>;
}

export interface FuzzOptions {
  readonly seed: number;
  /** Stop after this many inputs, or after durationMs, whichever comes first. */
  readonly maxInputs?: number;
  readonly durationMs?: number;
  readonly concurrency?: number;
  /** A legitimate reading after every this many fuzz inputs. */
  readonly legitEvery?: number;
  readonly hangMs?: number;
}

/** Sends one input on its own connection, half-closes, and waits for the server to close it. */
function sendRaw(host: string, port: number, bytes: Buffer, hangMs: number): Promise<'closed' | 'hung'> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port }, () => s.end(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      resolve('hung');
    }, hangMs);
    s.on('error', () => undefined);
    s.on('data', () => undefined); // read CONNACKs etc. so the server's writes never block
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

export async function fuzzBroker(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzResult> {
  const { seed, maxInputs = Infinity, durationMs = Infinity, concurrency = 8, legitEvery = 10, hangMs = 10_000 } = opts;
  let crashes = 0;
  let hangs = 0;
  let tried = 0;
  const onCrash = () => void crashes++;
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const legit = await mqtt.connectAsync(`mqtt://${target.host}:${target.port}`, {
    clientId: target.legit.gatewayId,
    username: target.legit.gatewayId,
    password: target.legit.password,
    protocolVersion: 4,
    reconnectPeriod: 1000,
  });
  const acked: number[] = [];
  let seq = 0;
  const deadline = Date.now() + durationMs;
  const nowMs = Date.now();
  try {
    for (let round = 0; tried < maxInputs && Date.now() < deadline; round++) {
      // Inputs come in seeded rounds, so any run is reproducible from (seed, round).
      const batch = fc.sample(mqttSession(target.fuzzer, nowMs), { seed: seed + round, numRuns: Math.min(concurrency, maxInputs - tried) });
      const results = await Promise.all(batch.map((bytes) => sendRaw(target.host, target.port, bytes, hangMs)));
      hangs += results.filter((r) => r === 'hung').length;
      tried += batch.length;
      if (round % Math.max(1, Math.round(legitEvery / concurrency)) === 0) {
        const s = seq++;
        const payload = JSON.stringify({ ts: nowMs - 3_600_000 + s, seq: s, values: { pm25: 10 + (s % 50) } });
        const ok = await Promise.race([
          legit.publishAsync(`sensors/${target.legit.stationId}/reading`, payload, { qos: 1 }).then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), hangMs).unref()),
        ]).catch(() => false);
        if (ok) acked.push(s);
        else crashes++; // the server did not acknowledge a valid reading in time
      }
    }
    await target.flushed();
    const stored = await target.storedSeqs();
    return { inputsTried: tried, crashes, hangs, lost: acked.filter((s) => !stored.has(s)).length };
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    await legit.endAsync(true).catch(() => undefined);
  }
}

/** decode + validate on seeded random payloads: no throw, and every rejection has a known reason. */
export function fuzzStages(seed: number, runs: number): FuzzResult {
  const registry = loadRegistry();
  const reasons = new Set<string>(REJECT_REASONS);
  const nowMs = Date.now();
  let crashes = 0;
  const limits = { maxPayloadBytes: 4096, maxJsonDepth: 8, maxBatchReadings: 100 };
  for (const [payload, batch] of fc.sample(fc.tuple(readingPayload(nowMs), fc.boolean()), { seed, numRuns: runs })) {
    try {
      const decoded = decodePayload(payload, batch, limits);
      if (!decoded.ok) {
        if (!reasons.has(decoded.rejection.reason)) crashes++;
        continue;
      }
      for (const item of decoded.items) {
        const v = validateReading(item, { registry, nowMs, maxFutureMs: 300_000, maxAgeMs: 86_400_000, topicStationId: batch ? undefined : 'air-001', gatewayId: 'gw-air-01' });
        if (!v.ok && !reasons.has(v.rejection.reason)) crashes++;
      }
    } catch {
      crashes++;
    }
  }
  return { inputsTried: runs, crashes, hangs: 0, lost: 0 };
}

/**
 * For `npm run bench`: starts quantrac against `influxUrl` (its own database and data folder),
 * fuzzes the broker for `durationMs` and the stages for `stageRuns` inputs, stops, and reports.
 */
export async function runFuzzBench(opts: { influxUrl: string; seed?: number; durationMs?: number; stageRuns?: number }): Promise<FuzzResult> {
  const seed = opts.seed ?? 20261123;
  const dataDir = mkdtempSync(join(tmpdir(), 'quantrac-fuzz-'));
  const database = `fuzz_${Date.now()}`;
  const config = parseConfig({
    INFLUX_URL: opts.influxUrl,
    INFLUX_DATABASE: database,
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dataDir,
    MQTT_CONNECT_BURST: '1000000', // every fuzz connection comes from 127.0.0.1
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: '10000',
    SPOOL_FSYNC: 'false',
  });
  const q = await startQuantrac(config, pino({ level: 'silent' }));
  try {
    const target = await fuzzTargetFor(q.config.credentialsPath, q.urls().mqtt, {
      flushed: () => q.flushed(),
      query: (text) => q.influx.query(text),
    });
    const broker = await fuzzBroker(target, { seed, durationMs: opts.durationMs ?? 30_000 });
    const stages = fuzzStages(seed, opts.stageRuns ?? 20_000);
    return { inputsTried: broker.inputsTried + stages.inputsTried, crashes: broker.crashes + stages.crashes, hangs: broker.hangs, lost: broker.lost };
  } finally {
    await q.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Credentials for the legitimate gateway (gw-air-01, air-001) and the fuzzer (gw-water-01). */
export async function fuzzTargetFor(
  credentialsPath: string,
  mqttUrl: string,
  deps: { flushed(): Promise<void>; storedSeqs?(): Promise<Set<number>>; query?(influxQl: string): Promise<InfluxSeries[][]> },
): Promise<FuzzTarget> {
  const url = new URL(mqttUrl);
  const legit = { gatewayId: 'gw-air-01', stationId: 'air-001', password: await setGatewayPassword(credentialsPath, 'gw-air-01') };
  const fuzzer = { gatewayId: 'gw-water-01', stationId: 'water-001', password: await setGatewayPassword(credentialsPath, 'gw-water-01') };
  return {
    host: url.hostname,
    port: Number(url.port),
    legit,
    fuzzer,
    flushed: deps.flushed,
    storedSeqs: deps.storedSeqs ?? (async () => seqsOf(await deps.query!(`SELECT "seq" FROM "air" WHERE "station" = 'air-001'`))),
  };
}

function seqsOf(statements: InfluxSeries[][]): Set<number> {
  const seqs = new Set<number>();
  for (const series of statements.flat()) {
    const col = series.columns.indexOf('seq');
    for (const row of series.values) seqs.add(Number(row[col]));
  }
  return seqs;
}
