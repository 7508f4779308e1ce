// A configuration file an operator may edit while the server runs (users.json, gateways.json):
// re-read when it changes (inode, size, mtime); when a new version cannot be read or parsed, the
// last good version keeps serving, the problem is reported once per version (logged and counted by
// the caller) and stays visible through problem() until a good version replaces it.
import { existsSync, readFileSync, statSync } from 'node:fs';

export interface LastGoodFile<T> {
  /** The current good content (or the last good one, or `absent` when none was ever readable). */
  get(): T;
  /** Changes whenever the file does; cheap to poll. */
  revision(): string;
  /** Why the file on disk is not the one in use, or undefined when it is. */
  problem(): string | undefined;
}

export interface LastGoodFileOptions<T> {
  readonly path: string;
  /** Parses and validates the text; throws with a readable message when it is not acceptable. */
  readonly parse: (text: string) => T;
  /** The content when the file does not exist (and the fallback before any good read). */
  readonly absent: T;
  /** Called once per unreadable version of the file. */
  readonly onBadRead?: (problem: string) => void;
}

export function createLastGoodFile<T>(opts: LastGoodFileOptions<T>): LastGoodFile<T> {
  let current: { revision: string; value: T } | undefined;
  let failed: { revision: string; problem: string } | undefined;
  const revision = (): string => {
    try {
      const st = statSync(opts.path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'absent';
    }
  };
  const refresh = (): void => {
    const rev = revision();
    if (current?.revision === rev || failed?.revision === rev) return;
    try {
      const value = rev === 'absent' || !existsSync(opts.path) ? opts.absent : opts.parse(readFileSync(opts.path, 'utf8'));
      current = { revision: rev, value };
      failed = undefined;
    } catch (err) {
      const problem = `${opts.path} is not usable (${err instanceof Error ? err.message : String(err)}); ${current ? 'serving its last good version' : 'serving without it'}`;
      failed = { revision: rev, problem };
      opts.onBadRead?.(problem);
    }
  };
  return {
    get() {
      refresh();
      return current?.value ?? opts.absent;
    },
    revision,
    problem() {
      refresh();
      return failed?.problem;
    },
  };
}
