// Officer console (#/officer): log in, see active alerts by severity, acknowledge one with a note,
// and browse cleared alerts. Talks only through officer-api.ts; tolerates that API being absent.
import type { Severity } from '../../../contracts/alerts.ts';
import type { View } from '../context.ts';
import { clear, h } from '../dom.ts';
import { formatNumber, formatTime, tr } from '../i18n.ts';
import { acknowledge, forget, listAlerts, login, savedSession, watchAlerts, type Alert, type Session } from './officer-api.ts';
import { O } from './officer-strings.ts';
import { validationPanel } from './validation-panel.ts';
import { AbsentError, HttpError } from '../data/api.ts';

/** Most severe first. A local list: importing contracts/alerts.ts values would bundle zod. */
const SEVERITY_ORDER = ['extreme', 'severe', 'moderate', 'minor'] as const satisfies readonly Severity[];

const SEVERITY_COLOURS: Readonly<Record<Severity, string>> = { minor: '#fff59d', moderate: '#ffb74d', severe: '#e53935', extreme: '#6a1b9a' };

function severityBadge(s: Severity): HTMLElement {
  return h('span', { class: `severity severity-${s}`, style: `background:${SEVERITY_COLOURS[s]};color:${s === 'minor' || s === 'moderate' ? '#111' : '#fff'}` }, tr(O.severity[s]));
}

function alertCard(a: Alert, onAck: (note: string) => Promise<void>): HTMLElement {
  const note = h('textarea', { id: `note-${a.id}`, rows: 2, 'data-testid': 'ack-note' });
  const status = h('p', { class: 'ack-status', role: 'status' });
  const form = h(
    'form',
    {
      class: 'ack-form',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        status.textContent = '…';
        onAck(note.value.trim()).catch((err: Error) => (status.textContent = `${tr(O.failed)}: ${err.message}`));
      },
    },
    h('label', { for: `note-${a.id}` }, tr(O.note)),
    note,
    h('button', { type: 'submit', 'data-testid': 'ack-button' }, tr(O.ack)),
    status,
  );
  return h(
    'li',
    { class: 'alert-card', 'data-alert': a.id, 'data-severity': a.level.severity, 'data-acknowledged': String(a.acknowledged !== null) },
    h('h3', {}, severityBadge(a.level.severity), ` ${tr(a.level.label)} — ${a.stationId}`),
    h('p', {}, `${tr(a.measure)}: ${formatNumber(a.value, 2)} ${a.unit} (${a.level.threshold}); ${tr(O.peak)} ${formatNumber(a.peakValue, 2)} ${a.unit}`),
    h('p', {}, tr(a.message)),
    h('p', { class: 'hint' }, `${tr(O.opened)}: ${formatTime(a.openedAt)}`),
    a.acknowledged
      ? h('p', { class: 'acked', 'data-testid': 'acked' }, `${tr(O.acked)} ${a.acknowledged.by}, ${formatTime(a.acknowledged.at)}${a.acknowledged.note ? `: “${a.acknowledged.note}”` : ''}`)
      : form,
  );
}

export const officerView: View = (root) => {
  let stopWatch: (() => void) | undefined;
  let alive = true;
  const box = h('section', { class: 'view view-officer' });
  root.append(box);

  function showLogin(message?: string): void {
    stopWatch?.();
    clear(box);
    const user = h('input', { id: 'officer-user', name: 'username', autocomplete: 'username', required: true });
    const pass = h('input', { id: 'officer-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const msg = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-message' }, message ?? '');
    box.append(
      h('h1', {}, tr(O.title)),
      h(
        'form',
        {
          class: 'login',
          onsubmit: async (ev: Event) => {
            ev.preventDefault();
            const r = await login(user.value, pass.value);
            if (r.ok) return showConsole(r.session);
            msg.textContent = r.reason === 'absent' ? tr(O.absent) : r.reason === 'denied' ? tr(O.denied) : `${tr(O.failed)}: ${r.message ?? ''}`;
          },
        },
        h('label', { for: 'officer-user' }, tr(O.username)),
        user,
        h('label', { for: 'officer-pass' }, tr(O.password)),
        pass,
        h('button', { type: 'submit' }, tr(O.login)),
        msg,
      ),
    );
  }

  function showConsole(session: Session): void {
    clear(box);
    const activeList = h('div', { 'data-testid': 'active-alerts' });
    const historyList = h('ul', { class: 'history', 'data-testid': 'alert-history' });
    box.append(
      h('h1', {}, tr(O.title)),
      h('p', {}, `${session.username} (${session.role}) `, h('button', { type: 'button', onclick: () => (forget(), showLogin()) }, tr(O.logout))),
      h('h2', {}, tr(O.active)),
      activeList,
      h('h2', {}, tr(O.history)),
      historyList,
      validationPanel(session),
    );
    const refresh = async () => {
      try {
        const [active, cleared] = await Promise.all([listAlerts(session, 'active'), listAlerts(session, 'cleared')]);
        if (!alive) return;
        clear(activeList);
        if (active.length === 0) activeList.append(h('p', {}, tr(O.none)));
        for (const sev of SEVERITY_ORDER) {
          const group = active.filter((a) => a.level.severity === sev);
          if (group.length === 0) continue;
          activeList.append(h('h3', {}, severityBadge(sev), ` (${group.length})`), h('ul', { class: 'alerts' }, ...group.map((a) => alertCard(a, async (note) => (await acknowledge(session, a.id, note), await refresh())))));
        }
        clear(historyList);
        for (const a of cleared.slice(0, 50)) {
          historyList.append(h('li', { 'data-alert': a.id }, severityBadge(a.peakLevel.severity), ` ${a.stationId} — ${tr(a.peakLevel.label)}; ${tr(O.opened)} ${formatTime(a.openedAt)}, ${tr(O.cleared)} ${a.clearedAt ? formatTime(a.clearedAt) : '–'}`));
        }
        if (cleared.length === 0) historyList.append(h('li', {}, tr(O.none)));
      } catch (err) {
        if (err instanceof HttpError && (err.status === 401 || err.status === 403) && !(err instanceof AbsentError)) {
          forget();
          showLogin(tr(O.denied));
        } else if (err instanceof AbsentError) showLogin(tr(O.absent));
      }
    };
    stopWatch?.();
    stopWatch = watchAlerts(session, () => void refresh());
    void refresh();
  }

  const s = savedSession();
  if (s) showConsole(s);
  else showLogin();
  return () => {
    alive = false;
    stopWatch?.();
  };
};
