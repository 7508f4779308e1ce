// Pieces shared by the map views: freshness line, parameter table, scale switch and legend.
import { PARAMETERS } from '../../../contracts/parameters.ts';
import type { Ctx } from '../context.ts';
import { h } from '../dom.ts';
import { formatNumber, formatTime, lang, relativeTime, t, tr } from '../i18n.ts';
import type { Kind, Latest, Station } from '../data/types.ts';
import { bandsOf, rgbCss, SCALE_NAME, textOn, type Scale } from '../domain/air.ts';

/**
 * "cập nhật 3 phút trước", with the exact time on hover and for screen readers; below it, when the
 * latest reading came from a station under calibration or maintenance, a notice saying so.
 */
export function freshness(latest: Latest | null, stale: boolean): HTMLElement {
  if (!latest) return h('p', { class: 'freshness' }, t('noData'));
  const ms = Date.parse(latest.ts);
  const line = h(
    'p',
    { class: `freshness${stale ? ' is-stale' : ''}`, 'data-testid': 'freshness' },
    `${t('updated')} `,
    h('time', { datetime: latest.ts, title: formatTime(ms) }, relativeTime(ms)),
    stale ? h('strong', { class: 'stale-flag' }, ` — ${t('stale')}`) : null,
  );
  if (!latest.status) return line;
  const notice = h('p', { class: `station-status status-${latest.status}`, role: 'status', 'data-testid': 'station-status', 'data-status': latest.status }, t(latest.status === 'calibrating' ? 'statusCalibrating' : 'statusFault'));
  return h('div', { class: 'freshness-block' }, line, notice);
}

const QC_TEXT = { 2: 'qcNotEvaluated', 3: 'qcSuspect', 4: 'qcFail' } as const;

/**
 * Every value of the latest reading with its unit; a value that is suspect or failed QC, or that an
 * officer marked invalid, is shown and marked as such (never hidden).
 */
export function valueTable(kind: Kind, latest: Latest): HTMLElement {
  const specs = PARAMETERS[kind] as Record<string, { unit: string; label: { vi: string; en: string } } | undefined>;
  let flagged = false;
  const rows = Object.entries(latest.values).map(([k, v]) => {
    const spec = specs[k];
    const flag = latest.quality?.[k]?.flag;
    const mark = flag === 2 || flag === 3 || flag === 4 ? QC_TEXT[flag] : undefined;
    const excluded = latest.excluded?.includes(k) ?? false;
    if (flag === 3 || flag === 4) flagged = true;
    return h(
      'tr',
      { ...(mark ? { class: `qc-${flag}`, 'data-qc': String(flag) } : {}), ...(excluded ? { 'data-excluded': 'true' } : {}) },
      h('th', { scope: 'row' }, spec ? tr(spec.label) : k),
      h(
        'td',
        {},
        `${formatNumber(v)} ${spec?.unit ?? ''}`,
        mark ? h('span', { class: 'qc-mark', 'data-testid': `qc-${k}` }, ` (${t(mark)})`) : null,
        excluded ? h('span', { class: 'qc-mark qc-excluded', 'data-testid': `excluded-${k}` }, ` (${t('excludedMark')})`) : null,
      ),
    );
  });
  return h(
    'div',
    {},
    h('table', { class: 'values' }, h('caption', {}, t('allValues')), h('tbody', {}, ...rows)),
    flagged ? h('p', { class: 'hint qc-note' }, t('qcNote')) : null,
    latest.excluded?.length ? h('p', { class: 'hint excluded-note' }, t('excludedNote')) : null,
  );
}

/** Radio group VN_AQI | US AQI: one scale on the map at a time. */
export function scaleSwitch(current: Scale, onChange: (s: Scale) => void): HTMLElement {
  const option = (s: Scale, key: 'scaleVn' | 'scaleUs') =>
    h(
      'label',
      { class: 'scale-option' },
      h('input', { type: 'radio', name: 'aqi-scale', value: s, checked: s === current, 'data-testid': `scale-${s}`, onchange: () => onChange(s) }),
      ` ${t(key)}`,
    );
  return h('fieldset', { class: 'scale-switch' }, h('legend', {}, t('scale')), option('vn', 'scaleVn'), option('us', 'scaleUs'));
}

export function aqiLegend(scale: Scale): HTMLElement {
  return h(
    'div',
    { class: 'legend', 'data-testid': 'legend', 'data-scale': scale },
    h('h2', {}, `${t('legend')}: ${tr(SCALE_NAME[scale])}`),
    h(
      'ul',
      {},
      ...bandsOf(scale).map((b) =>
        h('li', {}, h('span', { class: 'swatch', style: `background:${rgbCss(b.rgb)};color:${textOn(b.rgb)}` }, `${b.min}–${b.max}`), ` ${tr(b.label)}`),
      ),
      h('li', {}, h('span', { class: 'swatch swatch-stale' }, '–'), ` ${t('stale')}`),
    ),
    h('p', { class: 'scale-note' }, t(scale === 'vn' ? 'scaleNoteVn' : 'scaleNoteUs')),
  );
}

/** Re-runs `fn` every 30 s (freshness text, stale greying); returns the stop function. */
export function every30s(fn: () => void): () => void {
  const id = setInterval(fn, 30_000);
  return () => clearInterval(id);
}

/**
 * Keeps a map view fresh — repaints on store changes (live readings) and every 30 s (freshness
 * text, stale greying) while `ready()` — and returns the view's teardown.
 */
export function keepFresh(ctx: Ctx, ready: () => boolean, repaint: (ids?: readonly string[]) => void, destroy: () => void): () => void {
  const offChange = ctx.store.onChange((ids) => ready() && repaint(ids));
  const offTimer = every30s(() => ready() && repaint());
  return () => {
    offChange();
    offTimer();
    destroy();
  };
}

/** Enter or Space on a focused marker acts like a click (Leaflet only maps Enter to popups). */
export function onActivate(el: HTMLElement, fn: () => void): void {
  el.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    ev.preventDefault();
    fn();
  });
}

/** "Phường Cầu Giấy (quận/huyện cũ Cầu Giấy)" / "Cầu Giấy ward (former district Cầu Giấy)". */
export function wardLine(s: Station): string {
  const unit = lang() === 'vi' ? `${s.wardType === 'phường' ? 'Phường' : 'Xã'} ${s.ward}` : `${s.ward} ${s.wardType === 'phường' ? 'ward' : 'commune'}`;
  return `${unit} (${t('formerDistrict')} ${s.formerDistrict}) · ${s.lat.toFixed(4)}, ${s.lon.toFixed(4)}`;
}
