// The simulated city on the wire: a clock (real or compressed), every selected station reporting
// on its own schedule, readings grouped by gateway and handed to that gateway's connection, and
// connection faults acted out on a timer. createSimulator() is the library entry; main.ts the CLI.
import type { Station } from '../contracts/stations.ts';
import type { BackoffOptions } from './backoff.ts';
import { type FaultPlan } from './faults.ts';
import { toWireItems } from './faults.ts';
import { createGateway, type Gateway, type GatewayEvent, type GatewayStats } from './gateway.ts';
import { firstDueMs, intervalMsOf, readingAt } from './readings.ts';
import type { ScenarioName, SignalContext } from './scenarios.ts';
import type { TsFormat, WireItem } from './wire.ts';

export interface SimulatorOptions {
  readonly url: string;
  readonly stations: readonly Station[];
  readonly scenario?: ScenarioName;
  readonly seed?: number;
  /** Simulated seconds per real second (60 = one simulated hour per real minute). */
  readonly speed?: number;
  /** Simulated start, epoch ms (default: now). Readings are stamped in simulated time. */
  readonly startMs?: number;
  /** Readings per nominal station interval (2 = twice as often). */
  readonly rateMultiplier?: number;
  readonly faults?: FaultPlan | undefined;
  /** Real seconds between connection faults (disconnect/burst), when those faults are on. */
  readonly connectionFaultEveryS?: number;
  /** gatewayId → password; a gateway without one connects without credentials. */
  readonly credentials?: Readonly<Record<string, string>>;
  readonly isBatchGateway?: (gatewayId: string) => boolean;
  readonly tsFormat?: TsFormat;
  readonly tickMs?: number;
  readonly backoff?: BackoffOptions;
  readonly maxBufferedItems?: number;
  readonly onEvent?: (event: GatewayEvent | { type: 'fault'; gatewayId: string; fault: 'disconnect' | 'burst'; offlineMs: number }) => void;
}

export interface SimulatorStats extends GatewayStats {
  readingsGenerated: number;
  /** Simulated time reached, epoch ms. */
  simNowMs: number;
}

export interface Simulator {
  readonly gateways: ReadonlyMap<string, Gateway>;
  start(): void;
  stop(): Promise<void>;
  stats(): SimulatorStats;
}

/** Offline time of each connection fault: a short drop (last will) or an outage that ends in a burst. */
export const DISCONNECT_OFFLINE_MS = 5_000;
export const BURST_OFFLINE_MS = 30_000;

export function createSimulator(opts: SimulatorOptions): Simulator {
  const speed = opts.speed ?? 1;
  const tickMs = opts.tickMs ?? 200;
  const ctx: SignalContext = { seed: opts.seed ?? 7, scenario: opts.scenario ?? 'normal', originMs: opts.startMs ?? Date.now() };
  const stations = opts.stations;
  const intervals = stations.map((s) => intervalMsOf(s, opts.rateMultiplier));
  const nextDue = stations.map((s, i) => firstDueMs(s, ctx.originMs, intervals[i]!));
  const gateways = new Map<string, Gateway>();
  for (const s of stations) {
    if (gateways.has(s.gatewayId)) continue;
    gateways.set(s.gatewayId, createGateway({
      url: opts.url,
      gatewayId: s.gatewayId,
      password: opts.credentials?.[s.gatewayId],
      batch: opts.isBatchGateway?.(s.gatewayId) ?? false,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.maxBufferedItems ? { maxBufferedItems: opts.maxBufferedItems } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    }));
  }
  let realStartMs = 0;
  let readingsGenerated = 0;
  let tickTimer: NodeJS.Timeout | undefined;
  let faultTimer: NodeJS.Timeout | undefined;
  let faultCount = 0;
  const simNow = (): number => ctx.originMs + (Date.now() - realStartMs) * speed;

  const tick = (): void => {
    const now = simNow();
    const byGateway = new Map<string, WireItem[]>();
    for (let i = 0; i < stations.length; i++) {
      const station = stations[i]!;
      // At most 1000 readings per station per tick, so a huge --speed cannot freeze the loop.
      for (let n = 0; nextDue[i]! <= now && n < 1000; n++) {
        const reading = readingAt(ctx, station, nextDue[i]!, intervals[i]!, opts.faults);
        const items = toWireItems(reading, ctx.seed, opts.faults, opts.tsFormat);
        const list = byGateway.get(station.gatewayId) ?? [];
        list.push(...items);
        byGateway.set(station.gatewayId, list);
        nextDue[i] = nextDue[i]! + intervals[i]!;
        readingsGenerated++;
      }
    }
    for (const [id, items] of byGateway) gateways.get(id)?.send(items);
  };

  const connectionFault = (): void => {
    const kinds = (['disconnect', 'burst'] as const).filter((k) => opts.faults?.kinds.includes(k));
    const ids = [...gateways.keys()];
    if (kinds.length === 0 || ids.length === 0) return;
    // Round-robin over gateways and fault kinds: deterministic, and every gateway gets its turn.
    const fault = kinds[faultCount % kinds.length]!;
    const gatewayId = ids[(faultCount * 7) % ids.length]!;
    faultCount++;
    const offlineMs = fault === 'disconnect' ? DISCONNECT_OFFLINE_MS : BURST_OFFLINE_MS;
    opts.onEvent?.({ type: 'fault', gatewayId, fault, offlineMs });
    gateways.get(gatewayId)?.drop(offlineMs);
  };

  return {
    gateways,
    start() {
      if (tickTimer) return;
      realStartMs = Date.now();
      for (const g of gateways.values()) g.start();
      tickTimer = setInterval(tick, tickMs);
      const everyS = opts.connectionFaultEveryS ?? 60;
      if (opts.faults?.kinds.some((k) => k === 'disconnect' || k === 'burst')) faultTimer = setInterval(connectionFault, everyS * 1000);
    },
    async stop() {
      if (tickTimer) clearInterval(tickTimer);
      if (faultTimer) clearInterval(faultTimer);
      tickTimer = undefined;
      faultTimer = undefined;
      await Promise.all([...gateways.values()].map((g) => g.stop()));
    },
    stats() {
      const total: SimulatorStats = { itemsPublished: 0, itemsAcked: 0, itemsFailed: 0, itemsBuffered: 0, itemsDropped: 0, connects: 0, disconnects: 0, readingsGenerated, simNowMs: realStartMs ? simNow() : ctx.originMs };
      for (const g of gateways.values()) {
        for (const k of Object.keys(g.stats) as (keyof GatewayStats)[]) total[k] += g.stats[k];
      }
      return total;
    },
  };
}
