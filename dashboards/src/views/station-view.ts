// The station page (#/station/:id): latest values, charts of the last 24 hours and 7 days with the
// standard's limit drawn in, and for air stations the hourly VN_AQI history (chart and table).
import { PARAMETERS } from '../../../contracts/parameters.ts';
import { createLineChart } from '../charts/line-chart.ts';
import type { View } from '../context.ts';
import { requestJson } from '../data/api.ts';
import { isStale } from '../data/store.ts';
import type { Buckets, Station } from '../data/types.ts';
import { clear, h } from '../dom.ts';
import { t, tr } from '../i18n.ts';
import { limitLines, primaryParameter } from '../domain/limits.ts';
import { freshness, valueTable, wardLine } from './common.ts';
import { hourlyAqiSection } from './hourly-aqi-section.ts';

const HOUR_MS = 3_600_000;
const PERIODS = [
  { key: 'chart24h', spanMs: 24 * HOUR_MS, every: '5m' },
  { key: 'chart7d', spanMs: 7 * 24 * HOUR_MS, every: '1h' },
] as const;

type Destroy = () => void;

async function drawParameter(host: HTMLElement, station: Station, param: string): Promise<Destroy[]> {
  const spec = (PARAMETERS[station.kind] as Record<string, { unit: string; label: { vi: string; en: string } } | undefined>)[param];
  const now = Date.now();
  const destroys: Destroy[] = [];
  clear(host);
  for (const p of PERIODS) {
    const box = h('div', { class: 'chart', 'data-testid': `chart-${p.key}`, 'data-param': param });
    host.append(h('section', { class: 'chart-block' }, h('h3', {}, `${t(p.key)} — ${spec ? tr(spec.label) : param}`), box));
    const res = await requestJson<Buckets>(`/api/stations/${station.id}/readings?from=${now - p.spanMs}&to=${now + 60_000}&every=${p.every}`).catch(() => undefined);
    if (!res) {
      box.append(h('p', { class: 'error' }, t('loadFailed')));
      continue;
    }
    const rows = res.buckets.filter((b) => b.values[param]?.mean != null);
    box.dataset.points = String(rows.length);
    if (rows.length === 0) {
      box.append(h('p', { class: 'hint' }, t('chartEmpty')));
      continue;
    }
    const isRain = param === 'rain_mm';
    const values = rows.map((b) => {
      const v = b.values[param];
      return v?.mean == null ? null : isRain ? v.mean * v.count : v.mean;
    });
    const limits = limitLines(station, param, now).map((l) => ({ label: tr(l.label), value: l.value, colour: l.colour }));
    const label = isRain ? `${tr(spec?.label ?? { vi: param, en: param })} (mm / ${p.every})` : `${spec ? tr(spec.label) : param} (${t('mean')} ${p.every})`;
    const chart = createLineChart(box, {
      xs: rows.map((b) => Date.parse(b.ts) / 1000),
      series: [{ label, values, colour: '#1565c0', bars: isRain }],
      limits,
      unit: spec?.unit ?? '',
      xRange: [(now - p.spanMs) / 1000, now / 1000],
    });
    destroys.push(chart.destroy);
  }
  return destroys;
}

export const stationView: View = (root, ctx, params) => {
  const id = params.id ?? '';
  let alive = true;
  let destroys: Destroy[] = [];
  const page = h('article', { class: 'view view-station', 'data-station': id });
  root.append(page);
  page.append(h('p', {}, h('a', { href: '#/air' }, t('back'))), h('p', { class: 'hint' }, t('loading')));

  const current = h('section', { class: 'current', 'aria-live': 'polite' });
  const charts = h('div', { class: 'charts' });
  const renderCurrent = () => {
    const st = ctx.store.get(id);
    if (!st) return;
    clear(current);
    current.append(freshness(st.latest, isStale(st)), st.latest ? valueTable(st.station.kind, st.latest) : h('p', {}, t('noData')));
  };

  void ctx.store
    .load([])
    .then(async () => {
      const st = ctx.store.get(id);
      if (!alive) return;
      clear(page);
      const back = st?.station.kind === 'air' ? '#/air' : '#/flood';
      page.append(h('p', {}, h('a', { href: back }, t('back'))));
      if (!st) {
        page.append(h('h1', {}, id), h('p', { role: 'alert' }, t('unknownStation')));
        return;
      }
      const s = st.station;
      document.title = `${s.name} — ${t('title')}`;
      const latest = await requestJson<{ latest: typeof st.latest }>(`/api/stations/${s.id}/latest`).catch(() => undefined);
      if (latest?.latest && (!st.latest || latest.latest.ts >= st.latest.ts)) st.latest = latest.latest;
      const paramNames = Object.keys(PARAMETERS[s.kind]).filter((p) => p !== 'interval_s');
      let param = primaryParameter(s);
      const select = h(
        'select',
        { id: 'param-select', 'data-testid': 'param-select' },
        ...paramNames.map((p) => h('option', { value: p, selected: p === param }, tr((PARAMETERS[s.kind] as Record<string, { label: { vi: string; en: string } }>)[p]?.label ?? { vi: p, en: p }))),
      );
      const redraw = async () => {
        destroys.forEach((d) => d());
        destroys = await drawParameter(charts, s, param);
        if (!alive) destroys.forEach((d) => d());
      };
      select.addEventListener('change', () => {
        param = select.value;
        void redraw();
      });
      page.append(
        h('h1', {}, s.name),
        h('p', { class: 'where' }, wardLine(s)),
        current,
        h('p', { class: 'param-pick' }, h('label', { for: 'param-select' }, `${t('value')}: `), select),
        charts,
      );
      renderCurrent();
      await redraw();
      if (s.kind === 'air' && alive) page.append(await hourlyAqiSection(s, (d) => destroys.push(d)));
      page.dataset.ready = 'true';
    })
    .catch(() => {
      clear(page);
      page.append(h('p', { role: 'alert', class: 'error' }, t('loadFailed')));
    });

  const offChange = ctx.store.onChange((ids) => ids.includes(id) && renderCurrent());
  return () => {
    alive = false;
    offChange();
    destroys.forEach((d) => d());
  };
};
