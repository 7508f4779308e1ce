// The air-quality map: every air station as a marker coloured by its index category, with the
// value and the category name as text, on one labelled scale (VN_AQI, or US AQI on the switch).
// A side panel lists the stations (the keyboard/screen-reader path) and shows the chosen one.
import L from 'leaflet';
import type { Ctx, View } from '../context.ts';
import { isStale, type StationState } from '../data/store.ts';
import { clear, esc, h } from '../dom.ts';
import { t, tr } from '../i18n.ts';
import { airIndex, rgbCss, SCALE_NAME, textOn, type AirIndex, type Scale } from '../domain/air.ts';
import { createBaseMap, fitTo, portalConfig, type BaseMap } from '../map/base-map.ts';
import { airDetail } from './air-detail.ts';
import { aqiLegend, keepFresh, onActivate, scaleSwitch } from './common.ts';

export function indexOf(st: StationState, scale: Scale): AirIndex | undefined {
  const s = st.server;
  return airIndex(scale, st.latest, scale === 'vn' ? s.aqiVn : s.aqiUs, s.forTs);
}

/** Fills a marker element in place (keeps focus and identity across live updates). */
function paintPin(el: HTMLElement, st: StationState, scale: Scale): void {
  const idx = indexOf(st, scale);
  const stale = isStale(st);
  const pin = el.querySelector<HTMLElement>('.pin') ?? el;
  pin.dataset.scale = scale;
  pin.dataset.category = idx?.band.category ?? 'none';
  pin.dataset.stale = String(stale);
  pin.dataset.value = idx ? String(idx.value) : '';
  pin.style.background = idx && !stale ? rgbCss(idx.band.rgb) : '';
  pin.style.color = idx && !stale ? textOn(idx.band.rgb) : '';
  // A station without data is a small grey dot: it must not hide the ones that have data.
  pin.classList.toggle('pin-empty', !idx);
  pin.innerHTML = idx ? `<b class="pin-value">${idx.value}</b><span class="pin-label">${esc(tr(idx.band.label))}</span>` : '';
  const status = st.latest?.status;
  pin.dataset.status = status ?? 'measuring';
  const statusText = status === 'calibrating' ? `, ${t('statusCalibratingShort')}` : status === 'fault' ? `, ${t('statusFaultShort')}` : '';
  const label = `${st.station.name}: ${idx ? `${tr(SCALE_NAME[scale])} ${idx.value}, ${tr(idx.band.label)}` : t('noData')}${stale ? `, ${t('stale')}` : ''}${statusText}`;
  el.setAttribute('aria-label', label);
  el.setAttribute('role', 'button');
  el.title = label;
}

/** Worse air drawn on top; fresh above stale; stations without data at the bottom. */
function zOf(st: StationState, scale: Scale): number {
  const idx = indexOf(st, scale);
  return idx ? (isStale(st) ? 0 : 1000) + idx.value : -1000;
}

export const airView: View = (root, ctx) => {
  let selected: string | undefined;
  let base: BaseMap | undefined;
  const markers = new Map<string, L.Marker>();
  const toolbar = h('div', { class: 'toolbar' });
  const mapEl = h('div', { class: 'map', role: 'region', 'aria-label': t('navAir'), 'data-testid': 'air-map' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const detail = h('section', { class: 'detail', 'aria-live': 'polite', 'data-testid': 'air-detail' });
  const list = h('ol', { class: 'station-list', 'data-testid': 'air-list' });
  root.append(
    h('section', { class: 'view view-air' }, h('h1', { class: 'view-title' }, t('navAir')), toolbar, h('div', { class: 'split' }, h('div', { class: 'map-wrap' }, mapEl, notice), h('aside', { class: 'panel' }, detail, h('h2', {}, t('stations')), list))),
  );

  const airStations = () => ctx.store.all().filter((s) => s.station.kind === 'air');

  function renderToolbar(): void {
    clear(toolbar);
    toolbar.append(
      scaleSwitch(ctx.scale, (s) => {
        ctx.scale = s;
        if (s === 'us') void ctx.store.loadUsScale().then(() => repaint()).catch(() => undefined);
        renderToolbar();
        repaint();
      }),
      aqiLegend(ctx.scale),
    );
  }

  function select(id: string | undefined, pan = false): void {
    selected = id;
    const st = id ? ctx.store.get(id) : undefined;
    clear(detail);
    if (st) detail.append(airDetail(st, indexOf(st, ctx.scale), ctx.scale, isStale(st), () => select(undefined)));
    if (st && pan && base) {
      base.map.setView([st.station.lat, st.station.lon], Math.max(base.map.getZoom(), 13));
      detail.scrollIntoView({ block: 'nearest' });
    }
  }

  function renderList(): void {
    const rows = airStations()
      .map((st) => ({ st, idx: indexOf(st, ctx.scale), stale: isStale(st) }))
      .sort((a, b) => (b.idx?.value ?? -1) - (a.idx?.value ?? -1) || a.st.station.name.localeCompare(b.st.station.name));
    clear(list);
    for (const { st, idx, stale } of rows) {
      const badge = h('span', { class: 'badge', 'data-stale': String(stale), style: idx && !stale ? `background:${rgbCss(idx.band.rgb)};color:${textOn(idx.band.rgb)}` : '' }, idx ? `${idx.value} ${tr(idx.band.label)}` : t('noData'));
      list.append(h('li', {}, h('button', { type: 'button', class: 'station-row', 'data-station': st.station.id, onclick: () => select(st.station.id, true) }, badge, h('span', { class: 'row-name' }, st.station.name, h('small', {}, ` · ${st.station.ward}`)))));
    }
  }

  function repaint(ids?: readonly string[]): void {
    for (const st of airStations()) {
      if (ids && ids.length > 0 && !ids.includes(st.station.id)) continue;
      const el = markers.get(st.station.id)?.getElement();
      if (el) paintPin(el, st, ctx.scale);
      markers.get(st.station.id)?.setZIndexOffset(zOf(st, ctx.scale));
    }
    renderList();
    if (selected && (!ids || ids.length === 0 || ids.includes(selected))) select(selected);
  }

  function addMarkers(): void {
    if (!base) return;
    for (const st of airStations()) {
      const m = L.marker([st.station.lat, st.station.lon], {
        keyboard: true,
        riseOnHover: true,
        icon: L.divIcon({ className: 'aqi-marker', html: '<span class="pin"></span>', iconSize: undefined }),
        zIndexOffset: zOf(st, ctx.scale),
      });
      m.on('click', () => select(st.station.id));
      m.on('add', () => {
        const el = m.getElement();
        if (!el) return;
        el.dataset.station = st.station.id;
        el.dataset.testid = 'air-marker';
        onActivate(el, () => select(st.station.id));
        paintPin(el, st, ctx.scale);
      });
      m.addTo(base.map);
      markers.set(st.station.id, m);
    }
  }

  renderToolbar();
  detail.append(h('p', { class: 'hint' }, t('loading')));
  let alive = true;
  void Promise.all([ctx.store.load(['air']), portalConfig()])
    .then(([, cfg]) => {
      if (!alive) return;
      clear(detail);
      base = createBaseMap(mapEl, ctx.store.all().map((s) => s.station), cfg, (text) => (notice.textContent = text));
      fitTo(base.map, airStations().map((s) => s.station));
      // Category names need room: below zoom 12 the pins show the value only (the legend and the
      // list carry the names; every pin keeps its full text in aria-label and title).
      const zoomClass = () => base && mapEl.classList.toggle('zoom-low', base.map.getZoom() < 12);
      base.map.on('zoomend', zoomClass);
      zoomClass();
      addMarkers();
      if (ctx.scale === 'us') void ctx.store.loadUsScale().then(() => alive && repaint()).catch(() => undefined);
      renderList();
      root.querySelector('.view-air')?.setAttribute('data-ready', 'true');
    })
    .catch(() => {
      clear(detail);
      detail.append(h('p', { class: 'error', role: 'alert' }, t('loadFailed')));
    });

  const stop = keepFresh(ctx, () => alive && base !== undefined, repaint, () => base?.destroy());
  return () => {
    alive = false;
    stop();
  };
};
