// The officer API as planned by the alert engine (contracts/alerts.ts): login, alerts by state,
// acknowledge with a note, and the /ws/officer event stream. Everything that depends on that API's
// exact shape lives in this file, so adjusting to it touches nothing else.
import type { Alert, AlertEvent } from '../../../contracts/alerts.ts';
import { AbsentError, HttpError, requestJson } from '../data/api.ts';

export type { Alert, AlertEvent };

const TOKEN_KEY = 'quantrac.officer';

export interface Session {
  readonly token: string;
  readonly role: string;
  readonly username: string;
}

export function savedSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(TOKEN_KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export function forget(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export type LoginResult = { ok: true; session: Session } | { ok: false; reason: 'absent' | 'denied' | 'error'; message?: string };

export async function login(username: string, password: string): Promise<LoginResult> {
  try {
    // contracts/api.ts LoginRequest/LoginResponse.
    const r = await requestJson<{ token: string; role: string; user?: string }>('/api/auth/login', { method: 'POST', body: JSON.stringify({ user: username, password }) });
    const session = { token: r.token, role: r.role, username: r.user ?? username };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
    return { ok: true, session };
  } catch (err) {
    if (err instanceof AbsentError) return { ok: false, reason: 'absent' };
    if (err instanceof HttpError && (err.status === 401 || err.status === 403)) return { ok: false, reason: 'denied' };
    return { ok: false, reason: 'error', message: (err as Error).message };
  }
}

const auth = (s: Session) => ({ authorization: `Bearer ${s.token}` });

/** Alerts in one state, newest first; the list may arrive bare or as { alerts } / { items }. */
export async function listAlerts(s: Session, state: 'active' | 'cleared'): Promise<Alert[]> {
  const body = await requestJson<unknown>(`/api/alerts?state=${state}&limit=100`, { headers: auth(s) });
  const list = Array.isArray(body) ? body : ((body as { alerts?: unknown; items?: unknown }).alerts ?? (body as { items?: unknown }).items);
  return (Array.isArray(list) ? (list as Alert[]) : []).sort((a, b) => b.updatedAt - a.updatedAt);
}

export async function acknowledge(s: Session, alertId: string, note: string): Promise<void> {
  await requestJson<unknown>(`/api/alerts/${encodeURIComponent(alertId)}/ack`, { method: 'POST', headers: auth(s), body: JSON.stringify({ note }) });
}

/** Alert events as they happen; reconnects until closed. `onEvent` also fires on (re)connect. */
export function watchAlerts(s: Session, onEvent: () => void): () => void {
  let ws: WebSocket | undefined;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  const open = () => {
    // The token goes in the first message, never in the URL (URLs end up in proxy logs).
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/officer`);
    ws = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'auth', token: s.token }));
      attempt = 0;
      onEvent();
    };
    socket.onmessage = () => onEvent();
    socket.onclose = () => {
      if (closed) return;
      timer = setTimeout(open, Math.min(30_000, 1000 * 2 ** attempt++));
    };
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    ws?.close();
  };
}

/** One officer's validation mark (contracts/api.ts ValidationMark). */
export interface ValidationMark {
  readonly id: string;
  readonly station: string;
  readonly parameter: string;
  readonly from: string;
  readonly to: string;
  readonly status: 'invalid' | 'valid';
  readonly reason: string;
  readonly by: string;
  readonly at: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

export interface ValidationList {
  readonly station: string;
  readonly invalid: Readonly<Record<string, readonly { from: string; to: string }[]>>;
  readonly marks: readonly ValidationMark[];
}

const stationPath = (station: string) => `/api/stations/${encodeURIComponent(station)}/validations`;

export async function listValidations(s: Session, station: string): Promise<ValidationList> {
  return requestJson<ValidationList>(`${stationPath(station)}?includeRevoked=true`, { headers: auth(s) });
}

export async function markRange(s: Session, station: string, mark: { parameter: string; from: string; to: string; status: 'invalid' | 'valid'; reason: string }): Promise<ValidationMark> {
  return requestJson<ValidationMark>(stationPath(station), { method: 'POST', headers: auth(s), body: JSON.stringify(mark) });
}

export async function undoMark(s: Session, station: string, id: string, reason: string): Promise<void> {
  await requestJson<unknown>(`${stationPath(station)}/${encodeURIComponent(id)}`, { method: 'DELETE', headers: auth(s), body: JSON.stringify(reason ? { reason } : {}) });
}
