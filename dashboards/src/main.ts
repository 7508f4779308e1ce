// Portal entry: the header (navigation, language switch, live indicator) and the hash router
// (#/air, #/flood, #/station/:id, #/officer). A path such as /station/air-001 (the API serves
// index.html for unknown paths) is turned into its hash route.
import './style.css';
import type { Ctx, View } from './context.ts';
import { connectLive, type LiveState } from './data/live.ts';
import { createStore } from './data/store.ts';
import { clear, h } from './dom.ts';
import { lang, onLangChange, setLang, t, type StringKey } from './i18n.ts';
import { airView } from './views/air-view.ts';
import { floodView } from './views/flood-view.ts';
import { stationView } from './views/station-view.ts';
import { reportView } from './views/report-view.ts';
import { officerView } from './officer/officer-view.ts';

const routes: { pattern: RegExp; nav: StringKey | undefined; view: View; keys: string[] }[] = [
  { pattern: /^#\/(?:air)?$/, nav: 'navAir', view: airView, keys: [] },
  { pattern: /^#\/flood$/, nav: 'navFlood', view: floodView, keys: [] },
  { pattern: /^#\/station\/([a-z0-9-]+)$/, nav: undefined, view: stationView, keys: ['id'] },
  { pattern: /^#\/report(?:\/(station|ward|city)(?:\/(\d{4}(?:-\d{2})?)(?:\/(.+))?)?)?$/, nav: 'navReport', view: reportView, keys: ['scope', 'period', 'id'] },
  { pattern: /^#\/officer$/, nav: 'navOfficer', view: officerView, keys: [] },
];
const NAV: { key: StringKey; hash: string }[] = [
  { key: 'navAir', hash: '#/air' },
  { key: 'navFlood', hash: '#/flood' },
  { key: 'navReport', hash: '#/report' },
  { key: 'navOfficer', hash: '#/officer' },
];

if (location.pathname !== '/' && !location.hash) {
  const m = /^\/(station\/[a-z0-9-]+|air|flood|officer)\/?$/.exec(location.pathname);
  history.replaceState(null, '', `/${location.search}${m ? `#/${m[1]}` : ''}`);
}

const store = createStore();
const live = connectLive();
live.onReading((r) => store.applyLive(r));
const ctx: Ctx = { store, live, scale: 'vn' };

const header = document.getElementById('top') as HTMLElement;
const main = document.getElementById('main') as HTMLElement;
let unmount: (() => void) | undefined;

function liveText(s: LiveState): string {
  return t(s === 'live' ? 'live' : s === 'offline' ? 'offline' : 'connecting');
}

function renderHeader(activeNav: StringKey | undefined): void {
  clear(header);
  const status = h('p', { class: `live-status live-${live.state()}`, role: 'status', 'aria-live': 'polite', 'data-testid': 'live-status' }, liveText(live.state()));
  header.append(
    h('a', { class: 'brand', href: '#/air' }, t('title')),
    h(
      'nav',
      { 'aria-label': t('title') },
      h('ul', {}, ...NAV.map((n) => h('li', {}, h('a', { href: n.hash, 'aria-current': n.key === activeNav ? 'page' : undefined }, t(n.key))))),
    ),
    status,
    h('button', { type: 'button', class: 'lang-switch', lang: lang() === 'vi' ? 'en' : 'vi', 'aria-label': t('switchLangLabel'), 'data-testid': 'lang-switch', onclick: () => setLang(lang() === 'vi' ? 'en' : 'vi') }, t('switchLang')),
  );
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('skip');
}

live.onState((s) => {
  const el = header.querySelector('.live-status');
  if (!el) return;
  el.className = `live-status live-${s}`;
  el.textContent = liveText(s);
});

function route(): void {
  const hash = location.hash || '#/';
  const match = routes.map((r) => ({ r, m: r.pattern.exec(hash) })).find((x) => x.m) ?? { r: routes[0], m: ['#/'] as unknown as RegExpExecArray };
  const r = match.r as (typeof routes)[number];
  const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(match.m?.[i + 1] ?? '')]));
  unmount?.();
  clear(main);
  renderHeader(r.nav);
  document.title = t('title');
  unmount = r.view(main, ctx, params);
}

document.documentElement.lang = lang();
window.addEventListener('hashchange', route);
onLangChange(() => {
  route();
  (header.querySelector('.lang-switch') as HTMLElement | null)?.focus();
});
route();
