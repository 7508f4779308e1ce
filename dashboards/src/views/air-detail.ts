// The chosen air station: index with its scale, category, dominant pollutant, plain-language
// health advice (general public and sensitive groups), freshness and every measured parameter.
import type { StationState } from '../data/store.ts';
import { h } from '../dom.ts';
import { t, tr } from '../i18n.ts';
import { advice, pollutantLabel, rgbCss, SCALE_NAME, SENSITIVE_GROUPS, textOn, type AirIndex, type Scale } from '../domain/air.ts';
import { freshness, valueTable, wardLine } from './common.ts';

export function airDetail(st: StationState, idx: AirIndex | undefined, scale: Scale, stale: boolean, onClose: () => void): HTMLElement {
  const s = st.station;
  const adv = idx ? advice(idx) : undefined;
  return h(
    'article',
    { class: 'station-detail', 'data-station': s.id },
    h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: onClose }, '×'),
    h('h2', {}, s.name),
    h('p', { class: 'where' }, wardLine(s)),
    idx
      ? h(
          'div',
          { class: `aqi-big${stale ? ' is-stale' : ''}`, style: stale ? '' : `background:${rgbCss(idx.band.rgb)};color:${textOn(idx.band.rgb)}`, 'data-testid': 'detail-aqi' },
          h('span', { class: 'aqi-scale' }, tr(SCALE_NAME[scale])),
          h('span', { class: 'aqi-value' }, String(idx.value)),
          h('span', { class: 'aqi-label' }, tr(idx.band.label)),
        )
      : h('p', {}, t('noData')),
    stale ? h('p', { class: 'stale-note' }, t('staleLong')) : null,
    idx ? h('p', {}, h('strong', {}, `${t('dominant')}: `), tr(pollutantLabel(idx.dominant))) : null,
    idx?.indicative ? h('p', { class: 'hint' }, t('indicative')) : null,
    adv
      ? h(
          'dl',
          { class: 'advice' },
          h('dt', {}, t('adviceGeneral')),
          h('dd', {}, tr(adv.general)),
          h('dt', {}, `${t('adviceSensitive')} (${tr(SENSITIVE_GROUPS)})`),
          h('dd', {}, tr(adv.sensitive)),
        )
      : idx
        ? h('p', { class: 'hint' }, t('adviceUsNote'))
        : null,
    freshness(st.latest, stale),
    st.latest ? valueTable('air', st.latest) : null,
    h('p', {}, h('a', { href: `#/station/${s.id}`, class: 'button-link' }, t('openStation'))),
    h('p', { class: 'source' }, t('source')),
  );
}
