// Hourly VN_AQI of an air station over the last 7 days: from `/api/stations/:id/aqi?period=hourly`
// when the server has it, else computed here from hourly means (NowCast) with contracts/standards.
import { vnAqiBand } from '../../../contracts/standards/vn-aqi.ts';
import { createLineChart } from '../charts/line-chart.ts';
import { getOptional, requestJson } from '../data/api.ts';
import type { Buckets, Station } from '../data/types.ts';
import { h } from '../dom.ts';
import { formatTime, t, tr } from '../i18n.ts';
import { pollutantLabel, rgbCss, textOn, VN_BANDS } from '../domain/air.ts';
import { hourlyVnAqi, type HourlyAqi } from '../domain/hourly-aqi.ts';

const HOUR_MS = 3_600_000;

/** One point of `GET /api/stations/:id/aqi?period=hourly` (contracts/api.ts StationAqiResponse). */
type ServerPoint = { ts: string; aqi: { scale: string; value: number; dominant: string } | null };

function fromServer(body: unknown): HourlyAqi[] | undefined {
  const points = (body as { points?: unknown } | undefined)?.points;
  if (!Array.isArray(points)) return undefined;
  return (points as ServerPoint[]).flatMap((x) =>
    x.aqi && typeof x.aqi.value === 'number' && x.aqi.scale === 'VN_AQI' ? [{ ts: Date.parse(x.ts), aqi: x.aqi.value, band: vnAqiBand(x.aqi.value), dominant: x.aqi.dominant }] : [],
  );
}

async function computeHere(station: Station, now: number): Promise<HourlyAqi[]> {
  const from = now - 7 * 24 * HOUR_MS;
  const res = await requestJson<Buckets>(`/api/stations/${station.id}/readings?from=${from - 12 * HOUR_MS}&to=${now + 60_000}&every=1h`);
  const hours = new Map<number, Record<string, number | undefined>>();
  for (const b of res.buckets) hours.set(Date.parse(b.ts), Object.fromEntries(Object.entries(b.values).map(([k, v]) => [k, v.mean ?? undefined])));
  return hourlyVnAqi(hours, from);
}

export async function hourlyAqiSection(station: Station, onDestroy: (d: () => void) => void): Promise<HTMLElement> {
  const now = Date.now();
  const section = h('section', { class: 'chart-block hourly-aqi', 'data-testid': 'hourly-aqi' }, h('h2', {}, t('hourlyAqi')));
  const server = await getOptional<unknown>(`/api/stations/${station.id}/aqi?period=hourly&scale=vn&from=${now - 7 * 24 * HOUR_MS}&to=${now}`).catch(() => undefined);
  const hours = (server !== undefined ? fromServer(server) : undefined) ?? (await computeHere(station, now).catch(() => []));
  if (hours.length === 0) {
    section.append(h('p', { class: 'hint' }, t('chartEmpty')));
    return section;
  }
  const box = h('div', { class: 'chart' });
  section.append(box);
  requestAnimationFrame(() => {
    const chart = createLineChart(box, {
      xs: hours.map((x) => x.ts / 1000),
      series: [{ label: 'VN_AQI', values: hours.map((x) => x.aqi), colour: '#37474f' }],
      limits: VN_BANDS.slice(0, 4).map((b) => ({ label: `${b.max}: ${tr(b.label)} / ${tr(VN_BANDS[VN_BANDS.indexOf(b) + 1]?.label ?? b.label)}`, value: b.max, colour: rgbCss(b.rgb) })),
      unit: 'VN_AQI',
      height: 200,
      xRange: [(now - 7 * 24 * HOUR_MS) / 1000, now / 1000],
    });
    onDestroy(chart.destroy);
  });
  const last = hours.slice(-24).reverse();
  section.append(
    h(
      'table',
      { class: 'hourly-table' },
      h('caption', {}, `${t('hourlyAqi')} — 24 ${t('hour').toLowerCase()}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('hour')), h('th', { scope: 'col' }, 'VN_AQI'), h('th', { scope: 'col' }, t('category')), h('th', { scope: 'col' }, t('dominant')))),
      h(
        'tbody',
        {},
        ...last.map((x) =>
          h(
            'tr',
            {},
            h('td', {}, formatTime(x.ts)),
            h('td', {}, h('span', { class: 'swatch', style: `background:${rgbCss(x.band.colour.rgb)};color:${textOn(x.band.colour.rgb)}` }, String(x.aqi))),
            h('td', {}, tr(x.band.label)),
            h('td', {}, tr(pollutantLabel(x.dominant))),
          ),
        ),
      ),
    ),
  );
  return section;
}
