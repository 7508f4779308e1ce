// Surface-water station report: per month the mean of each QCVN 08:2023 parameter over its valid
// hours and the best class (A best … D) whose limits every mean meets; NH₄⁺ against the health limit.
import type { WaterReport } from '../../contracts/reports-api.ts';
import { HOUR_MS } from '../../contracts/rollups.ts';
import { NH4_LIMIT_MGL, QCVN08_PARAMETERS, qcvn08Limit, waterLimitBreached, WATER_CLASSES, type WaterClass } from '../../contracts/standards/qcvn08.ts';
import { completeness } from './completeness.ts';
import { definedOnly, meanOf, validHour, type HourlySeries } from './hourly.ts';
import { hoursBetween, type ReportPeriod } from './period.ts';

/** Parameters that decide the class (NH₄⁺ is one health limit for every class, reported apart). */
const CLASS_PARAMS = QCVN08_PARAMETERS.filter((p) => p !== 'nh4_mgl');

/** The best class whose limits all given means meet, and what kept it from the class above. */
export function waterClassOf(means: Readonly<Record<string, number | null>>): { waterClass: WaterClass | null; limiting: string[] } {
  const present = CLASS_PARAMS.filter((p) => typeof means[p] === 'number');
  if (present.length === 0) return { waterClass: null, limiting: [] };
  let limiting: string[] = [];
  // D is "worse than C": its cells describe the class and are not limits to meet.
  for (const c of WATER_CLASSES.filter((x) => x !== 'D')) {
    const breached = present.filter((p) => {
      const limit = qcvn08Limit(c, p);
      return limit !== undefined && waterLimitBreached(limit, means[p] as number);
    });
    if (breached.length === 0) return { waterClass: c, limiting };
    limiting = breached;
  }
  return { waterClass: 'D', limiting };
}

const rank = (c: WaterClass) => WATER_CLASSES.indexOf(c);

export function waterReport(series: HourlySeries, designatedClass: WaterClass, months: readonly ReportPeriod[], fromMs: number, untilMs: number): WaterReport {
  const measured = QCVN08_PARAMETERS.filter((p) => [...series.values()].some((h) => h[p] !== undefined));
  return {
    designatedClass,
    months: months
      .filter((m) => m.fromMs < untilMs)
      .map((m) => {
        const hours = hoursBetween(m.fromMs, Math.min(m.toMs, untilMs));
        const meansMgL: Record<string, number | null> = {};
        for (const p of measured) {
          const mean = meanOf(definedOnly(Array.from({ length: hours }, (_, h) => validHour(series, m.fromMs + h * HOUR_MS, p)?.mean)));
          meansMgL[p] = mean === undefined ? null : Math.round(mean * 1000) / 1000;
        }
        const { waterClass, limiting } = waterClassOf(meansMgL);
        const nh4 = meansMgL.nh4_mgl;
        return {
          month: m.label,
          meansMgL,
          waterClass,
          limiting,
          meetsDesignated: waterClass === null ? null : rank(waterClass) <= rank(designatedClass),
          nh4AboveHealthLimit: typeof nh4 === 'number' ? nh4 > NH4_LIMIT_MGL : null,
        };
      }),
    completeness: measured.map((p) => completeness(series, p, fromMs, untilMs)),
  };
}
