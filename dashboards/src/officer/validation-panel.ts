// Officer console, data validation: mark a time range of one parameter at a station invalid (or
// valid again) with a reason, see the station's marks and what they exclude now, undo a mark.
// Talks only through officer-api.ts; times are entered and shown in the browser's (Hanoi) time.
import { PARAMETERS } from '../../../contracts/parameters.ts';
import type { Station } from '../../../contracts/stations.ts';
import { clear, h } from '../dom.ts';
import { formatTime, tr } from '../i18n.ts';
import { requestJson } from '../data/api.ts';
import { listValidations, markRange, undoMark, type Session } from './officer-api.ts';
import { O } from './officer-strings.ts';

const paramsOf = (s: Station | undefined): string[] => (s ? Object.keys(PARAMETERS[s.kind]).filter((p) => p !== 'interval_s') : []);
const labelOf = (s: Station | undefined, p: string): string => {
  const spec = s ? (PARAMETERS[s.kind] as Record<string, { label: { vi: string; en: string } } | undefined>)[p] : undefined;
  return spec ? `${tr(spec.label)} (${p})` : p;
};

export function validationPanel(session: Session): HTMLElement {
  const stationSel = h('select', { id: 'validation-station', 'data-testid': 'validation-station' });
  const paramSel = h('select', { id: 'validation-parameter', 'data-testid': 'validation-parameter' });
  const from = h('input', { id: 'validation-from', type: 'datetime-local', required: true, 'data-testid': 'validation-from' });
  const to = h('input', { id: 'validation-to', type: 'datetime-local', required: true, 'data-testid': 'validation-to' });
  const status = h('select', { id: 'validation-status', 'data-testid': 'validation-status' }, h('option', { value: 'invalid' }, tr(O.markInvalid)), h('option', { value: 'valid' }, tr(O.markValid)));
  const reason = h('input', { id: 'validation-reason', required: true, minlength: 3, maxlength: 500, 'data-testid': 'validation-reason' });
  const message = h('p', { class: 'ack-status', role: 'status', 'data-testid': 'validation-message' });
  const excluded = h('p', { class: 'hint', 'data-testid': 'validation-excluded' });
  const list = h('ul', { class: 'history', 'data-testid': 'validation-marks' });
  let stations: Station[] = [];
  const current = () => stations.find((s) => s.id === stationSel.value);

  async function refresh(): Promise<void> {
    const s = current();
    if (!s) return;
    const r = await listValidations(session, s.id);
    const ranges = Object.entries(r.invalid).flatMap(([p, rs]) => rs.map((x) => `${p}: ${formatTime(Date.parse(x.from))} – ${formatTime(Date.parse(x.to))}`));
    excluded.textContent = ranges.length ? `${tr(O.excluded)}: ${ranges.join('; ')}` : '';
    clear(list);
    if (r.marks.length === 0) list.append(h('li', {}, tr(O.noMarks)));
    for (const m of [...r.marks].reverse()) {
      const text = `${m.status === 'invalid' ? tr(O.markInvalid) : tr(O.markValid)} — ${labelOf(s, m.parameter)}: ${formatTime(Date.parse(m.from))} – ${formatTime(Date.parse(m.to))}; “${m.reason}” (${m.by}, ${formatTime(Date.parse(m.at))})`;
      const undo = h('button', { type: 'button', 'data-testid': 'validation-undo', onclick: () => void undoMark(session, s.id, m.id, '').then(refresh, (err: Error) => (message.textContent = `${tr(O.failed)}: ${err.message}`)) }, tr(O.undo));
      list.append(
        h('li', { 'data-mark': m.id, 'data-revoked': String(m.revokedAt !== undefined) }, text, ' ', m.revokedAt ? h('em', {}, `${tr(O.undone)} ${m.revokedBy ?? ''}`) : undo),
      );
    }
  }

  const fillParams = () => {
    clear(paramSel);
    for (const p of paramsOf(current())) paramSel.append(h('option', { value: p }, labelOf(current(), p)));
  };
  stationSel.addEventListener('change', () => {
    fillParams();
    void refresh().catch(() => undefined);
  });
  void requestJson<{ stations: Station[] }>('/api/stations?limit=5000').then(({ stations: all }) => {
    stations = all;
    for (const s of all) stationSel.append(h('option', { value: s.id }, `${s.id} — ${s.name}`));
    fillParams();
    return refresh();
  }).catch((err: Error) => (message.textContent = `${tr(O.failed)}: ${err.message}`));

  const form = h(
    'form',
    {
      class: 'ack-form validation-form',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const s = current();
        if (!s) return;
        message.textContent = '…';
        const mark = { parameter: paramSel.value, from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString(), status: status.value as 'invalid' | 'valid', reason: reason.value.trim() };
        markRange(session, s.id, mark).then(
          async () => {
            message.textContent = '✓';
            reason.value = '';
            await refresh();
          },
          (err: Error) => (message.textContent = `${tr(O.failed)}: ${err.message}`),
        );
      },
    },
    h('label', { for: 'validation-station' }, tr(O.station)),
    stationSel,
    h('label', { for: 'validation-parameter' }, tr(O.parameter)),
    paramSel,
    h('label', { for: 'validation-from' }, tr(O.from)),
    from,
    h('label', { for: 'validation-to' }, tr(O.to)),
    to,
    h('label', { for: 'validation-status' }, tr(O.markAs)),
    status,
    h('label', { for: 'validation-reason' }, tr(O.reason)),
    reason,
    h('button', { type: 'submit', 'data-testid': 'validation-submit' }, tr(O.save)),
    message,
  );
  return h('section', { class: 'validation', 'data-testid': 'validation-panel' }, h('h2', {}, tr(O.validation)), h('p', { class: 'hint' }, tr(O.validationHint)), form, excluded, list);
}
