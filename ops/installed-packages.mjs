// Whether node_modules holds exactly what package-lock.json pins, from npm's own record of what it
// installed (node_modules/.package-lock.json, the "hidden lockfile"). Content, not file times: a
// release unpacked with an old lock-file time, or a checkout that touched an unchanged lock, must
// neither skip nor force `npm ci`. Plain JavaScript with no dependencies (used by ops/setup.mjs
// before node_modules exists).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Lock entries npm may leave out: optional packages for other platforms (e.g. rolldown's bindings). */
const mayBeAbsent = (entry) => entry.optional === true;

export function installedMatchesLock(root) {
  let lock;
  let installed;
  try {
    lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
    installed = JSON.parse(readFileSync(join(root, 'node_modules', '.package-lock.json'), 'utf8')).packages;
  } catch {
    return false;
  }
  if (!lock || !installed) return false;
  for (const [path, entry] of Object.entries(lock)) {
    if (path === '') continue;
    const got = installed[path];
    if (!got) {
      if (mayBeAbsent(entry)) continue;
      return false;
    }
    if (got.version !== entry.version || got.integrity !== entry.integrity) return false;
  }
  return Object.keys(installed).every((path) => path in lock);
}
