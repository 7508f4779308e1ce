// Builds the immutable Alert objects of each lifecycle move (open, escalate, value update,
// de-escalate, clear). Escalation withdraws an acknowledgement: a higher level must be seen anew.
import type { Alert, Forecast } from '../../contracts/alerts.ts';
import type { Station } from '../../contracts/stations.ts';
import { publicLevel, type CompiledLevel } from './levels.ts';
import { alertMessage } from './messages.ts';
import type { Signal } from './signals.ts';

export interface Observation {
  readonly station: Station;
  readonly signal: Signal;
  readonly level: CompiledLevel;
  readonly value: number;
  readonly forecast: Forecast | null | undefined;
  readonly atMs: number;
}

function message(o: Observation, state: Alert['state'], value: number, forecast: Forecast | null): Alert['message'] {
  return alertMessage({
    station: o.station, signal: o.signal.rule.signal, measure: o.signal.measure, unit: o.signal.unit,
    level: publicLevel(o.level), value, state, forecast,
  });
}

export function openAlert(o: Observation, rulesVersion: number): Alert {
  const lv = publicLevel(o.level);
  const forecast = o.forecast ?? null;
  return {
    id: `${o.station.id}~${o.signal.rule.id}~${o.atMs}`,
    stationId: o.station.id, ruleId: o.signal.rule.id, rulesVersion, kind: o.station.kind,
    measure: o.signal.measure, unit: o.signal.unit,
    level: lv, peakLevel: lv, state: 'active', acknowledged: null,
    openedAt: o.atMs, updatedAt: o.atMs, clearedAt: null,
    value: o.value, peakValue: o.value,
    message: message(o, 'active', o.value, forecast), forecast,
  };
}

const worse = (signal: Signal, a: number, b: number): number => (signal.worse === 'higher' ? Math.max(a, b) : Math.min(a, b));

/** The alert at `o.level` with the new value (escalation, de-escalation or a plain update). */
export function moveAlert(prev: Alert, o: Observation): Alert {
  const lv = publicLevel(o.level);
  const escalated = lv.index > prev.level.index;
  const forecast = o.forecast === undefined ? prev.forecast : o.forecast;
  return {
    ...prev,
    level: lv,
    peakLevel: lv.index > prev.peakLevel.index ? lv : prev.peakLevel,
    acknowledged: escalated ? null : prev.acknowledged,
    updatedAt: Math.max(prev.updatedAt, o.atMs),
    value: o.value,
    peakValue: worse(o.signal, prev.peakValue, o.value),
    message: message(o, 'active', o.value, forecast),
    forecast,
  };
}

export function clearAlert(prev: Alert, o: Omit<Observation, 'level'>, level: CompiledLevel): Alert {
  return {
    ...prev,
    state: 'cleared',
    updatedAt: Math.max(prev.updatedAt, o.atMs),
    clearedAt: o.atMs,
    value: o.value,
    message: message({ ...o, level }, 'cleared', o.value, null),
    forecast: null,
  };
}
