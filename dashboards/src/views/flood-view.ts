// The flood map: river gauges against levels I/II/III with trend and forecast time to the next
// level, street-flooding points by depth, and rainfall over the last 1 h and 24 h. Each marker
// carries its state as text; the side panel lists the same in tables.
import L from 'leaflet';
import { FLOOD_LEVEL_LABELS } from '../../../contracts/standards/flood.ts';
import type { View } from '../context.ts';
import { isRiver, isStale, rainTotals, type StationState } from '../data/store.ts';
import { clear, esc, h } from '../dom.ts';
import { duration, formatNumber, t, tr } from '../i18n.ts';
import { DEPTH_BANDS, depthBand, RAIN_COLOURS, RIVER_COLOURS, rainTerm, riverState, type RiverState } from '../domain/flood.ts';
import { createBaseMap, fitTo, portalConfig, type BaseMap } from '../map/base-map.ts';
import type { RiverGauge } from '../data/types.ts';
import { freshness, keepFresh, onActivate } from './common.ts';

function river(st: StationState): RiverState | undefined {
  const level = st.server.flood?.levelM ?? st.latest?.values.level_m;
  if (level == null || !isRiver(st.station)) return undefined;
  const server = st.server.forTs === st.latest?.ts ? st.server.flood : undefined;
  return riverState(st.station as RiverGauge, st.latest?.values.level_m ?? level, st.levels, server);
}

function trendText(r: RiverState): string {
  if (r.trendCmPerH === undefined) return t('noForecast');
  const v = r.trendCmPerH;
  const word = Math.abs(v) < 1 ? t('steady') : v > 0 ? t('rising') : t('falling');
  return `${word} (${v > 0 ? '+' : ''}${formatNumber(v, 0)} ${t('perHour')})`;
}

function forecastText(r: RiverState): string {
  if (!r.next) return '';
  return r.next.etaMinutes !== undefined ? `${t('reaches')} ${tr(r.next.label)} (${formatNumber(r.next.thresholdM, 2)} m) ${t('in')} ${duration(r.next.etaMinutes)}` : '';
}

interface Pin {
  readonly cls: string;
  readonly colour: string;
  readonly text: string;
  readonly label: string;
  readonly state: string;
}

function pinOf(st: StationState): Pin | undefined {
  const s = st.station;
  if (isRiver(s)) {
    const r = river(st);
    if (!r) return { cls: 'river', colour: '', text: `${s.gauge}: ${t('noData')}`, label: `${s.name}: ${t('noData')}`, state: 'none' };
    const colour = RIVER_COLOURS[r.reached ?? 'none'];
    return { cls: 'river', colour, text: `${s.gauge} ${formatNumber(r.levelM, 2)} m · ${tr(r.label)}`, label: `${s.name}: ${t('level')} ${formatNumber(r.levelM, 2)} m, ${tr(r.label)}. ${trendText(r)}. ${forecastText(r)}`, state: r.reached ?? 'below' };
  }
  if (s.kind === 'flood') {
    const d = st.latest?.values.depth_cm;
    if (d === undefined) return undefined;
    const b = depthBand(d);
    if (b.key === 'dry') return undefined;
    return { cls: 'street', colour: b.colour, text: `${formatNumber(d, 0)} cm`, label: `${s.name}: ${t('depth')} ${formatNumber(d, 0)} cm, ${tr(b.label)}`, state: b.key };
  }
  if (s.kind === 'rain') {
    const tot = rainTotals(st);
    if (!tot || tot.mm24h <= 0) return undefined;
    const term = rainTerm(tot.mm24h);
    return { cls: 'rain', colour: RAIN_COLOURS[term.key] ?? '#4fc3f7', text: `${formatNumber(tot.mm24h, 0)} mm`, label: `${s.name}: ${t('rainfall')} ${formatNumber(tot.mm1h)} mm ${t('rain1h')}, ${formatNumber(tot.mm24h)} mm ${t('rain24h')} (${tr(term.label)})`, state: term.key };
  }
  return undefined;
}

export const floodView: View = (root, ctx) => {
  let base: BaseMap | undefined;
  let alive = true;
  const markers = new Map<string, L.Marker>();
  const mapEl = h('div', { class: 'map', role: 'region', 'aria-label': t('navFlood'), 'data-testid': 'flood-map' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const panel = h('aside', { class: 'panel', 'aria-live': 'polite' });
  const legend = h(
    'div',
    { class: 'legend' },
    h('h2', {}, t('levels')),
    h('ul', {}, ...(['none', 'I', 'II', 'III'] as const).map((k) => h('li', {}, h('span', { class: 'swatch', style: `background:${RIVER_COLOURS[k]};color:#fff` }, k === 'none' ? '<I' : k), ` ${k === 'none' ? t('belowI') : tr(FLOOD_LEVEL_LABELS[k])}`))),
    h('h2', {}, t('depth')),
    h('ul', {}, ...DEPTH_BANDS.slice(1).map((b) => h('li', {}, h('span', { class: 'swatch', style: `background:${b.colour};color:#fff` }, `≥${b.minCm}`), ` ${tr(b.label)}`))),
  );
  root.append(h('section', { class: 'view view-flood' }, h('h1', { class: 'view-title' }, t('navFlood')), h('div', { class: 'toolbar' }, legend), h('div', { class: 'split' }, h('div', { class: 'map-wrap' }, mapEl, notice), panel)));

  const floodish = () => ctx.store.all().filter((s) => s.station.kind === 'flood' || s.station.kind === 'rain');

  function paint(st: StationState): void {
    const pin = pinOf(st);
    const existing = markers.get(st.station.id);
    if (!pin) {
      if (existing) base?.map.removeLayer(existing);
      markers.delete(st.station.id);
      return;
    }
    let m = existing;
    if (!m && base) {
      m = L.marker([st.station.lat, st.station.lon], { keyboard: true, icon: L.divIcon({ className: `flood-marker flood-${pin.cls}`, html: '<span class="pin"></span>', iconSize: undefined }) });
      m.on('click', () => (location.hash = `#/station/${st.station.id}`));
      m.addTo(base.map);
      const el = m.getElement();
      if (el) onActivate(el, () => (location.hash = `#/station/${st.station.id}`));
      markers.set(st.station.id, m);
    }
    const el = m?.getElement();
    const inner = el?.querySelector<HTMLElement>('.pin');
    if (!el || !inner) return;
    const stale = isStale(st);
    el.dataset.station = st.station.id;
    el.dataset.testid = `${pin.cls}-marker`;
    inner.dataset.state = pin.state;
    inner.dataset.stale = String(stale);
    inner.style.background = stale ? '' : pin.colour;
    inner.innerHTML = esc(pin.text);
    el.setAttribute('aria-label', `${pin.label}${stale ? `, ${t('stale')}` : ''}`);
    el.setAttribute('role', 'link');
    el.title = pin.label;
  }

  function renderPanel(): void {
    clear(panel);
    const rivers = floodish().filter((s) => isRiver(s.station));
    panel.append(
      h('h2', {}, t('riverGauges')),
      h(
        'ul',
        { class: 'cards', 'data-testid': 'river-list' },
        ...rivers.map((st) => {
          const r = river(st);
          const g = st.station as RiverGauge;
          return h(
            'li',
            { class: 'card', 'data-station': g.id, 'data-state': r?.reached ?? (r ? 'below' : 'none') },
            h('h3', {}, h('a', { href: `#/station/${g.id}` }, `${g.river} — ${g.gauge}`)),
            r
              ? h('p', { class: 'river-level' }, h('span', { class: 'swatch', style: `background:${RIVER_COLOURS[r.reached ?? 'none']};color:#fff` }, `${formatNumber(r.levelM, 2)} m`), ` ${tr(r.label)}`)
              : h('p', {}, t('noData')),
            h('p', { class: 'thresholds' }, `I ${g.levelsM.I} m · II ${g.levelsM.II} m · III ${g.levelsM.III} m`),
            r ? h('p', {}, trendText(r)) : null,
            r && forecastText(r) ? h('p', { class: 'forecast' }, forecastText(r)) : null,
            freshness(st.latest, isStale(st)),
          );
        }),
      ),
    );
    const streets = floodish()
      .filter((s) => s.station.kind === 'flood' && !isRiver(s.station) && (s.latest?.values.depth_cm ?? 0) > 0)
      .sort((a, b) => (b.latest?.values.depth_cm ?? 0) - (a.latest?.values.depth_cm ?? 0));
    panel.append(
      h('h2', {}, t('streetFlood')),
      streets.length === 0
        ? h('p', {}, DEPTH_BANDS[0]?.label ? tr(DEPTH_BANDS[0].label) : '')
        : h('ul', { class: 'rows', 'data-testid': 'street-list' }, ...streets.map((st) => {
            const d = st.latest?.values.depth_cm ?? 0;
            return h('li', { 'data-station': st.station.id }, h('a', { href: `#/station/${st.station.id}` }, st.station.name), `: ${formatNumber(d, 0)} cm — ${tr(depthBand(d).label)}`);
          })),
    );
    const rains = floodish()
      .filter((s) => s.station.kind === 'rain')
      .map((st) => ({ st, tot: rainTotals(st) }))
      .filter((x) => x.tot && x.tot.mm24h > 0)
      .sort((a, b) => (b.tot?.mm24h ?? 0) - (a.tot?.mm24h ?? 0));
    panel.append(
      h('h2', {}, t('rainfall')),
      h(
        'table',
        { class: 'rain-table', 'data-testid': 'rain-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('ward')), h('th', { scope: 'col' }, t('rain1h')), h('th', { scope: 'col' }, t('rain24h')))),
        h('tbody', {}, ...rains.slice(0, 15).map(({ st, tot }) => h('tr', { 'data-station': st.station.id }, h('th', { scope: 'row' }, st.station.ward), h('td', {}, `${formatNumber(tot?.mm1h ?? 0)} mm`), h('td', {}, `${formatNumber(tot?.mm24h ?? 0)} mm · ${tr(rainTerm(tot?.mm24h ?? 0).label)}`)))),
      ),
    );
  }

  function repaint(ids?: readonly string[]): void {
    for (const st of floodish()) if (!ids || ids.length === 0 || ids.includes(st.station.id)) paint(st);
    renderPanel();
  }

  panel.append(h('p', { class: 'hint' }, t('loading')));
  void Promise.all([ctx.store.load(['flood', 'rain']), portalConfig()])
    .then(([, cfg]) => {
      if (!alive) return;
      base = createBaseMap(mapEl, ctx.store.all().map((s) => s.station), cfg, (text) => (notice.textContent = text));
      fitTo(base.map, floodish().filter((s) => s.station.kind === 'flood').map((s) => s.station));
      repaint();
      root.querySelector('.view-flood')?.setAttribute('data-ready', 'true');
    })
    .catch(() => {
      clear(panel);
      panel.append(h('p', { class: 'error', role: 'alert' }, t('loadFailed')));
    });
  const stop = keepFresh(ctx, () => alive && base !== undefined, repaint, () => base?.destroy());
  return () => {
    alive = false;
    stop();
  };
};
