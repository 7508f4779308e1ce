// The printable report page (#/report/{station|ward|city}/{period}[/{id}]): the figures of
// GET /api/reports as tables, in Vietnamese or English, laid out to print on A4 (report.css).
import type { Report, StationReport } from '../../../contracts/reports-api.ts';
import { FLOOD_LEVEL_LABELS } from '../../../contracts/standards/flood.ts';
import { VN_AQI_BANDS } from '../../../contracts/standards/vn-aqi.ts';
import { PARAMETERS } from '../../../contracts/parameters.ts';
import type { View } from '../context.ts';
import { requestJson } from '../data/api.ts';
import { append, clear, h } from '../dom.ts';
import { formatNumber, formatTime, tr } from '../i18n.ts';
import { R } from './report-strings.ts';
import './report.css';

const HOUR_MS = 3_600_000;
const s = (k: keyof typeof R) => tr(R[k]);

/** Last month in Hanoi time, YYYY-MM. */
const lastMonth = () => new Date(Date.now() + 7 * HOUR_MS - 28 * 24 * HOUR_MS).toISOString().slice(0, 7);

function paramLabel(p: string): string {
  for (const table of Object.values(PARAMETERS) as Record<string, { label: { vi: string; en: string } }>[]) if (table[p]) return tr(table[p].label);
  return p;
}

type Cell = string | number | Node;
function table(caption: string, head: string[], rows: Cell[][], testid?: string): HTMLElement {
  const td = (c: Cell) => h('td', { class: typeof c === 'number' ? 'num' : undefined }, typeof c === 'number' ? formatNumber(c, 2) : c);
  return h('table', { 'data-testid': testid }, h('caption', {}, caption), h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map(td)))));
}

const category = (c: string): Node => {
  const band = VN_AQI_BANDS.find((b) => b.category === c);
  if (!band) return document.createTextNode(s('insufficient'));
  return h('span', {}, h('span', { class: 'rswatch', style: `background: rgb(${band.colour.rgb.join(',')})` }), tr(band.label));
};
const daysRows = (days: Readonly<Record<string, number>>) => Object.entries(days).map(([c, n]) => [category(c), n]);
const windowLabel = (w: string) => s(w === '1h' ? 'window1h' : w === '8h' ? 'window8h' : 'window24h');
const when = (iso: string | undefined) => (iso ? formatTime(Date.parse(iso)) : '—');

function completenessTable(c: NonNullable<StationReport['air']>['completeness']): HTMLElement {
  return table(s('completeness'), [s('param'), s('validHours'), '%', s('validDays'), '%'], c.map((x) => [paramLabel(x.param), `${x.validHours} / ${x.hours}`, x.validHourPct, `${x.validDays} / ${x.days}`, x.validDayPct]));
}

function stationSection(r: StationReport): HTMLElement {
  const sourceText = s(r.source === 'rollups' ? 'sourceRollups' : r.source === 'raw' ? 'sourceRaw' : 'sourceNone');
  const sec = h('section', { class: 'report-station', 'data-station': r.id }, h('h2', {}, `${r.name} (${r.id})`), h('p', { class: 'report-meta' }, `${s('ward')}: ${r.ward} · ${s('source')}: ${sourceText}`));
  if (r.air) {
    const a = r.air;
    sec.append(
      table(s('aqiDays'), [s('category'), s('days')], daysRows(a.daysByCategory), `aqi-days-${r.id}`),
      table(
        s('exceedances'),
        [s('param'), s('window'), `${s('limit')} (µg/m³)`, s('count'), s('evaluated')],
        a.exceedances.map((e) => [paramLabel(e.param), windowLabel(e.window), e.limitUgM3, `${e.count} ${s(e.unit === 'hours' ? 'hours' : 'daysUnit')}`, e.evaluated]),
        `exceedances-${r.id}`,
      ),
      table(
        s('annual'),
        [s('param'), `${s('mean')} (µg/m³)`, `${s('limit')} (µg/m³)`, s('exceeds')],
        a.annualMeans.map((m) => [paramLabel(m.param), m.meanUgM3 ?? '—', m.annualLimitUgM3, `${m.exceeds === null ? '—' : s(m.exceeds ? 'yes' : 'no')}${m.complete ? '' : ` (${s('incomplete')})`}`]),
      ),
      completenessTable(a.completeness),
    );
  }
  if (r.water) {
    const w = r.water;
    const params = [...new Set(w.months.flatMap((m) => Object.keys(m.meansMgL)))];
    sec.append(
      table(
        `${s('waterClass')} — ${s('designated')}: ${w.designatedClass}`,
        [s('month'), s('cls'), s('meets'), s('nh4'), ...params.map(paramLabel)],
        w.months.map((m) => [m.month, m.waterClass ?? '—', m.meetsDesignated === null ? '—' : s(m.meetsDesignated ? 'yes' : 'no'), m.nh4AboveHealthLimit === null ? '—' : s(m.nh4AboveHealthLimit ? 'yes' : 'no'), ...params.map((p) => m.meansMgL[p] ?? '—')]),
        `water-${r.id}`,
      ),
      completenessTable(w.completeness),
    );
  }
  if (r.rain) {
    const rn = r.rain;
    const peak = (p: { mm: number; at: string } | null) => (p ? `${formatNumber(p.mm)} — ${when(p.at)}` : '—');
    sec.append(
      table(s('rain'), [s('month'), s('total'), s('max1h'), s('max24h'), s('wetDays')], [...rn.months.map((m) => [m.month, m.totalMm, peak(m.max1h), peak(m.max24h), m.wetDays]), ...(rn.months.length > 1 ? [[s('year'), rn.totalMm, peak(rn.max1h), peak(rn.max24h), rn.months.reduce((a, m) => a + m.wetDays, 0)]] : [])], `rain-${r.id}`),
      completenessTable(rn.completeness),
    );
  }
  if (r.flood) {
    const f = r.flood;
    const name = (k: string) => (f.floodType === 'river' ? tr(FLOOD_LEVEL_LABELS[k as 'I' | 'II' | 'III']) : `${k} cm`);
    sec.append(
      table(s('flood'), [s('threshold'), s('hoursAbove')], Object.entries(f.hoursAbove).map(([k, v]) => [`${name(k)} (${formatNumber(f.thresholds[k] ?? 0, 2)} ${f.floodType === 'river' ? 'm' : 'cm'})`, v]), `flood-${r.id}`),
      h('p', { 'data-testid': `peak-${r.id}` }, `${s('peak')}: `, f.peak ? `${formatNumber(f.peak.value, 2)} ${f.peak.unit} — ${when(f.peak.at)}${f.peak.level ? ` (${name(f.peak.level)})` : ''}` : '—'),
      completenessTable(f.completeness),
    );
  }
  return sec;
}

export function renderReport(report: Report): HTMLElement {
  const scopeName = report.scope.type === 'city' ? s('city') : `${s(report.scope.type === 'station' ? 'station' : 'ward')} ${report.scope.name}`;
  const root = h(
    'article',
    { class: 'report', 'data-testid': 'report' },
    h('h1', {}, `${s('title')} — ${scopeName}`),
    h('p', { class: 'report-period' }, `${s(report.period.kind === 'month' ? 'month' : 'year')} ${report.period.label} (${when(report.period.from)} – ${when(report.period.to)})`),
    h('p', { class: 'report-meta' }, `${s('until')}: ${when(report.period.until)} · ${s('generated')}: ${when(report.generatedAt)}`),
    h('p', { class: 'report-meta' }, s('rule')),
  );
  if (report.summary) {
    append(
      root,
      h('h2', {}, s('areaSummary')),
      table(s('areaDays'), [s('category'), s('days')], daysRows(report.summary.airDaysByCategory), 'area-days'),
      report.summary.exceedances.length === 0
        ? null
        : table(s('exceedances'), [s('param'), s('window'), s('count'), s('evaluated')], report.summary.exceedances.map((e) => [paramLabel(e.param), windowLabel(e.window), `${e.count} ${s(e.unit === 'hours' ? 'hours' : 'daysUnit')}`, e.evaluated])),
    );
  }
  const withData = report.stations.filter((r) => r.source !== 'none' || report.scope.type === 'station');
  const without = report.stations.filter((r) => !withData.includes(r));
  root.append(...withData.map(stationSection));
  if (without.length) root.append(h('h2', {}, s('noDataStations')), h('p', { class: 'report-meta' }, without.map((r) => r.id).join(', ')));
  return root;
}

export const reportView: View = (root, _ctx, params) => {
  const scope = ['station', 'ward', 'city'].includes(params.scope ?? '') ? (params.scope as 'station' | 'ward' | 'city') : 'station';
  const period = params.period || lastMonth();
  const id = params.id ?? (scope === 'station' ? 'air-001' : '');
  const scopeSel = h('select', { name: 'scope' }, ...(['station', 'ward', 'city'] as const).map((v) => h('option', { value: v, selected: v === scope }, s(v))));
  const idIn = h('input', { name: 'id', value: id, size: 18 });
  const periodIn = h('input', { name: 'period', value: period, size: 8, pattern: '\\d{4}(-\\d{2})?' });
  const query = `period=${encodeURIComponent(period)}${scope === 'city' ? '' : `&id=${encodeURIComponent(id)}`}`;
  const out = h('div', { 'aria-live': 'polite' }, h('p', {}, s('loading')));
  root.append(
    h(
      'section',
      { class: 'view-report' },
      h(
        'form',
        {
          class: 'report-controls',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const idPart = scopeSel.value === 'city' ? '' : `/${encodeURIComponent(idIn.value.trim())}`;
            location.hash = `#/report/${scopeSel.value}/${periodIn.value.trim()}${idPart}`;
          },
        },
        h('label', {}, s('scope'), scopeSel),
        h('label', {}, s('id'), idIn),
        h('label', {}, s('period'), periodIn),
        h('button', { type: 'submit' }, s('show')),
        h('button', { type: 'button', onclick: () => window.print() }, s('print')),
        h('a', { href: `/api/reports/${scope}?${query}&format=csv` }, s('csv')),
        h('a', { href: `/api/reports/${scope}?${query}` }, s('json')),
      ),
      out,
    ),
  );
  let live = true;
  requestJson<Report>(`/api/reports/${scope}?${query}`).then(
    (report) => {
      if (!live) return;
      clear(out);
      out.append(renderReport(report));
      document.body.dataset.reportReady = 'true';
    },
    (err: Error) => {
      if (!live) return;
      clear(out);
      out.append(h('p', { class: 'error', 'data-testid': 'report-error' }, err.message));
    },
  );
  return () => {
    live = false;
    delete document.body.dataset.reportReady;
  };
};
