// An exclusive lock on a file edited by several processes (the CLIs, `npm start`, the server):
// a `<path>.lock` created with O_EXCL, held while `change` runs. A lock older than 30 s is taken
// to be abandoned by a crashed process and removed.
import { closeSync, existsSync, openSync, statSync, unlinkSync } from 'node:fs';

const LOCK_STALE_MS = 30_000;

export async function withFileLock<T>(path: string, change: () => Promise<T> | T): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_STALE_MS + 5_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = existsSync(lock) ? Date.now() - statSync(lock).mtimeMs : 0;
      if (age > LOCK_STALE_MS) unlinkSync(lock);
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another process`, { cause: err });
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await change();
  } finally {
    unlinkSync(lock);
  }
}
