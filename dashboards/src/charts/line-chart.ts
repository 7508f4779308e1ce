// A uPlot time-series chart: measured series plus horizontal limit lines drawn as constant series
// (so they appear, labelled, in the legend). Resizes with its container.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { lang } from '../i18n.ts';

/** Hanoi-time tick labels, 24-hour clock; the date is added when the chart spans days. */
function timeTicks(_u: uPlot, splits: number[]): string[] {
  const span = (splits.at(-1) ?? 0) - (splits[0] ?? 0);
  const fmt = new Intl.DateTimeFormat(lang() === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone: 'Asia/Ho_Chi_Minh',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...(span > 86_400 ? { day: 'numeric', month: 'numeric' } : {}),
  });
  return splits.map((s) => fmt.format(new Date(s * 1000)));
}

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly colour: string;
  readonly width?: number;
  readonly dash?: number[];
  readonly bars?: boolean;
}

export interface ChartSpec {
  /** Seconds since the epoch (uPlot's x unit). */
  readonly xs: readonly number[];
  readonly series: readonly ChartSeries[];
  readonly limits: readonly { label: string; value: number; colour: string }[];
  readonly unit: string;
  readonly height?: number;
  /** The period shown, seconds: the axis spans it even where there is no data. */
  readonly xRange?: readonly [number, number];
}

export function createLineChart(el: HTMLElement, spec: ChartSpec): { destroy(): void } {
  const width = () => Math.max(280, el.clientWidth || 600);
  // Limit lines span the whole period: the period's ends are added as x points without data.
  const head = spec.xRange && spec.xRange[0] < (spec.xs[0] ?? Infinity) ? [spec.xRange[0]] : [];
  const tail = spec.xRange && spec.xRange[1] > (spec.xs.at(-1) ?? -Infinity) ? [spec.xRange[1]] : [];
  const xs = [...head, ...spec.xs, ...tail];
  const pad = (v: readonly (number | null)[]) => [...head.map(() => null), ...v, ...tail.map(() => null)];
  const data = [xs, ...spec.series.map((s) => pad(s.values)), ...spec.limits.map((l) => xs.map(() => l.value))] as uPlot.AlignedData;
  const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
  const opts: uPlot.Options = {
    width: width(),
    height: spec.height ?? 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Asia/Ho_Chi_Minh'),
    legend: { live: true },
    scales: { x: spec.xRange ? { time: true, range: () => [spec.xRange?.[0] ?? null, spec.xRange?.[1] ?? null] } : { time: true } },
    axes: [{ values: timeTicks, space: 70 }, { label: spec.unit, size: 60 }],
    series: [
      { label: lang() === 'vi' ? 'Thời gian' : 'Time' },
      ...spec.series.map((s) => ({ label: s.label, stroke: s.colour, width: s.width ?? 2, ...(s.bars && bars ? { paths: bars, fill: s.colour } : {}), ...(s.dash ? { dash: s.dash } : {}), spanGaps: false })),
      ...spec.limits.map((l) => ({ label: l.label, stroke: l.colour, width: 1.5, dash: [6, 4], points: { show: false } })),
    ],
  };
  const chart = new uPlot(opts, data, el);
  const onResize = () => chart.setSize({ width: width(), height: spec.height ?? 220 });
  window.addEventListener('resize', onResize);
  return {
    destroy() {
      window.removeEventListener('resize', onResize);
      chart.destroy();
    },
  };
}
