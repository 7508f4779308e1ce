// The gateway wire format (contracts/reading.ts, contracts/topics.ts): readings as JSON objects,
// single messages on sensors/{id}/reading and JSON-array batches on gateways/{id}/readings.
import { gatewayBatchTopic, stationReadingTopic } from '../contracts/topics.ts';
import type { SimReading } from './readings.ts';
import { toHanoiIso } from './signals/clock.ts';

export type TsFormat = 'iso' | 'epoch';

/** What one reading becomes on the wire; `raw` is pre-serialised text (used for malformed JSON). */
export interface WireItem {
  readonly stationId: string;
  readonly gatewayId: string;
  readonly body: Record<string, unknown>;
  readonly raw?: string;
  /** Readings this item stands for (a duplicate is still one reading). */
  readonly readings: number;
}

/** An MQTT message ready to publish. */
export interface OutMessage {
  readonly topic: string;
  readonly payload: string;
  /** How many wire items it carries (1, or the batch length). */
  readonly items: number;
}

export function wireBody(r: SimReading, tsFormat: TsFormat = 'iso'): Record<string, unknown> {
  return { ts: tsFormat === 'iso' ? toHanoiIso(r.tsMs) : r.tsMs, seq: r.seq, values: { ...r.values } };
}

export const toWireItem = (r: SimReading, tsFormat: TsFormat = 'iso'): WireItem => ({
  stationId: r.stationId,
  gatewayId: r.gatewayId,
  body: wireBody(r, tsFormat),
  readings: 1,
});

export function singleMessage(item: WireItem): OutMessage {
  return { topic: stationReadingTopic(item.stationId), payload: item.raw ?? JSON.stringify(item.body), items: 1 };
}

/**
 * Batches of at most `maxItems` for one gateway. Items with raw text cannot live inside an array
 * and go out as single messages.
 */
export function batchMessages(gatewayId: string, items: readonly WireItem[], maxItems = 100): OutMessage[] {
  const out: OutMessage[] = [];
  let chunk: Record<string, unknown>[] = [];
  const flush = (): void => {
    if (chunk.length === 0) return;
    out.push({ topic: gatewayBatchTopic(gatewayId), payload: JSON.stringify(chunk), items: chunk.length });
    chunk = [];
  };
  for (const item of items) {
    if (item.raw !== undefined) {
      out.push(singleMessage(item));
      continue;
    }
    chunk.push({ station: item.stationId, ...item.body });
    if (chunk.length >= maxItems) flush();
  }
  flush();
  return out;
}
