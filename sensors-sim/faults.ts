// Faults on demand. Value and payload faults are pure and seeded (decided per reading from its
// station and seq), so a test can ask for one and check it; connection faults are acted out by
// the gateway transport (gateway.ts), which only reads the plan here.
import { parameterSpec } from '../contracts/parameters.ts';
import type { Station } from '../contracts/stations.ts';
import type { SimReading } from './readings.ts';
import { HOUR_MS } from './signals/clock.ts';
import { stationKey } from './signals/index.ts';
import { hash01 } from './signals/noise.ts';
import { toWireItem, type TsFormat, type WireItem } from './wire.ts';

export const FAULT_KINDS = [
  'stuck', 'spike', 'out-of-range', 'malformed-json', 'wrong-type', 'unknown-station', 'clock-skew', 'duplicate',
  'disconnect', 'burst',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults that change one reading's payload. */
export const PAYLOAD_FAULTS = ['spike', 'out-of-range', 'malformed-json', 'wrong-type', 'unknown-station', 'clock-skew', 'duplicate'] as const;
export type PayloadFault = (typeof PAYLOAD_FAULTS)[number];
/** Faults of the connection: abrupt drop (last will), long outage then a burst of buffered readings. */
export const CONNECTION_FAULTS = ['disconnect', 'burst'] as const;

export interface FaultPlan {
  readonly kinds: readonly FaultKind[];
  /** Probability that a reading carries a payload fault, and that a station-hour is stuck. */
  readonly rate: number;
}

export const ALL_FAULTS: FaultPlan = { kinds: FAULT_KINDS, rate: 0.05 };

export function isFaultKind(s: string): s is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(s);
}

/** Start of the stuck hour when the station's sensor is stuck at `tMs`, else undefined. */
export function isStuck(plan: FaultPlan, seed: number, station: Station, tMs: number): number | undefined {
  if (!plan.kinds.includes('stuck')) return undefined;
  const hour = Math.floor(tMs / HOUR_MS);
  return hash01(seed, stationKey(station.id) ^ 0x57c4, hour) < plan.rate ? hour * HOUR_MS : undefined;
}

/** The payload fault this reading carries under the plan, if any. */
export function pickFault(plan: FaultPlan, seed: number, r: SimReading): PayloadFault | undefined {
  const enabled = PAYLOAD_FAULTS.filter((k) => plan.kinds.includes(k));
  if (enabled.length === 0) return undefined;
  const u = hash01(seed, stationKey(r.stationId) ^ 0xfa17, r.seq);
  return u < plan.rate ? enabled[Math.floor((u / plan.rate) * enabled.length)] : undefined;
}

/** Clock-skew offsets: a gateway two hours ahead, or one whose clock reset to 2000-01-01. */
export const SKEW_AHEAD_MS = 2 * HOUR_MS;
export const CLOCK_RESET_MS = Date.UTC(1999, 11, 31, 17); // 2000-01-01T00:00+07:00

function firstParameter(r: SimReading): string {
  const name = Object.keys(r.values)[0];
  if (name === undefined) throw new Error(`reading of ${r.stationId} has no values`);
  return name;
}

/** The wire item(s) a reading becomes under a payload fault (two for a duplicate). */
export function applyFault(kind: PayloadFault, r: SimReading, tsFormat: TsFormat = 'iso'): WireItem[] {
  const item = toWireItem(r, tsFormat);
  const values = item.body.values as Record<string, unknown>;
  const name = firstParameter(r);
  const spec = parameterSpec(r.kind, name);
  const flip = (r.seq & 1) === 0;
  switch (kind) {
    case 'spike': {
      // A one-reading jump, large but still physically possible (a quality flag, not a rejection).
      const v = r.values[name] ?? 0;
      const max = spec?.max ?? v * 10;
      values[name] = Math.min(max, Math.round((Math.abs(v) * 8 + 0.25 * max) * 10) / 10);
      return [item];
    }
    case 'out-of-range':
      values[name] = flip ? (spec?.max ?? 0) * 2 + 1 : (spec?.min ?? 0) - 100;
      return [item];
    case 'malformed-json': {
      const text = JSON.stringify(item.body);
      return [{ ...item, raw: text.slice(0, Math.max(1, Math.floor(text.length * 0.6))) }];
    }
    case 'wrong-type':
      values[name] = flip ? String(r.values[name]) : null;
      return [item];
    case 'unknown-station':
      return [{ ...item, stationId: `ghost-${r.stationId}` }];
    case 'clock-skew':
      return [toWireItem({ ...r, tsMs: flip ? r.tsMs + SKEW_AHEAD_MS : CLOCK_RESET_MS + (r.tsMs % HOUR_MS) }, tsFormat)];
    case 'duplicate':
      return [item, { ...item, readings: 0 }];
  }
}

/** Wire items of one reading under the plan (no plan: exactly the reading). */
export function toWireItems(r: SimReading, seed: number, plan: FaultPlan | undefined, tsFormat: TsFormat = 'iso'): WireItem[] {
  const fault = plan ? pickFault(plan, seed, r) : undefined;
  return fault ? applyFault(fault, r, tsFormat) : [toWireItem(r, tsFormat)];
}
