// Append-only audit trail as JSON lines (one event per line, 0600): credential changes now, officer
// actions of the API later. Appends use O_APPEND, so concurrent writers never interleave a line.
import { appendFile, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';

export interface AuditEvent {
  /** Who acted: an OS user for the CLI, an officer id for the API, `system` for start-up. */
  readonly actor: string;
  /** Dotted verb, e.g. `gateway.add`, `gateway.rotate`, `gateway.revoke`, `alert.acknowledge`. */
  readonly action: string;
  /** What was acted on, e.g. a gateway id. */
  readonly subject: string;
  readonly detail?: Record<string, unknown>;
}

export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
  /** Every event, oldest first (for tests and small tools; the file is the record). */
  read(): Promise<(AuditEvent & { at: string })[]>;
}

export function createAuditLog(path: string, now: () => Date = () => new Date()): AuditLog {
  return {
    async append(event) {
      // Never secrets: callers pass ids and facts, and a password field is refused outright.
      if (event.detail && Object.keys(event.detail).some((k) => /pass|secret|token/i.test(k))) {
        throw new TypeError('audit events must not carry secrets');
      }
      const line = JSON.stringify({ at: now().toISOString(), ...event });
      await appendFile(path, `${line}\n`, { mode: 0o600, flag: 'a' });
    },
    async read() {
      const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)));
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as AuditEvent & { at: string });
    },
  };
}

/** The OS user running a command-line tool, for `actor`. */
export function currentOsUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
