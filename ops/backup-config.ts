// The settings a backup carries besides DATA_DIR (ops/backup.ts, ops/restore.ts): the environment
// file the tools run with (QUANTRAC_ENV_FILE, set by the installed `quantrac` command), the station
// registry (REGISTRY_PATH) and the alert rules (ALERT_RULES_PATH) when they are the operator's own
// files — without them a restored quantrac would serve the default stations and rules.
import { constants } from 'node:fs';
import { access, copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { sha256File } from './backup-files.ts';

/** Folder of the settings files inside a backup. */
export const CONFIG = 'config';

export type ConfigRole = 'settings' | 'registry' | 'alert-rules';

export interface ConfigFile {
  readonly role: ConfigRole;
  /** Where it was on the machine backed up (absolute); restore puts it back there. */
  readonly path: string;
  /** Its name inside the backup's config/ folder. */
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** The settings files named by the environment: those that are set and outside DATA_DIR. */
export function configSources(env: NodeJS.ProcessEnv, dataDir: string): { role: ConfigRole; path: string }[] {
  const named: [ConfigRole, string | undefined][] = [
    ['settings', env.QUANTRAC_ENV_FILE],
    ['registry', env.REGISTRY_PATH],
    ['alert-rules', env.ALERT_RULES_PATH],
  ];
  const inData = (p: string) => !relative(dataDir, p).startsWith('..');
  return named.filter((n): n is [ConfigRole, string] => Boolean(n[1])).map(([role, p]) => ({ role, path: resolve(p) })).filter((s) => !inData(s.path));
}

/** Copies each source into `out`/config/; a source that does not exist fails the backup. */
export async function backupConfig(out: string, sources: readonly { role: ConfigRole; path: string }[]): Promise<ConfigFile[]> {
  const files: ConfigFile[] = [];
  if (sources.length === 0) return files;
  await mkdir(join(out, CONFIG), { recursive: true, mode: 0o700 });
  for (const { role, path } of sources) {
    const name = `${role}-${basename(path)}`;
    const to = join(out, CONFIG, name);
    await copyFile(path, to);
    files.push({ role, path, name, bytes: (await stat(to)).size, sha256: await sha256File(to) });
  }
  return files;
}

export interface ConfigRestore {
  /** Put back where they were missing. */
  readonly restored: string[];
  /** Present with the backup's content already. */
  readonly same: string[];
  /** Present with other content (left as they are), or not writable here: the backup's copy to use. */
  readonly notRestored: { readonly path: string; readonly copy: string; readonly why: string }[];
}

/**
 * Puts each settings file back at its path when nothing is there; never overwrites a file (a fresh
 * install's generated settings, say): those, and paths this user may not write (/etc as the
 * service user), are listed with the backup's copy for the operator to put in place.
 */
export async function restoreConfig(from: string, files: readonly ConfigFile[]): Promise<ConfigRestore> {
  const result: ConfigRestore = { restored: [], same: [], notRestored: [] };
  for (const f of files) {
    const copy = join(from, CONFIG, f.name);
    const current = await readFile(f.path).catch(() => undefined);
    if (current !== undefined) {
      if (current.equals(await readFile(copy))) result.same.push(f.path);
      else result.notRestored.push({ path: f.path, copy, why: 'differs from the backup' });
      continue;
    }
    try {
      await mkdir(dirname(f.path), { recursive: true });
      await access(dirname(f.path), constants.W_OK);
      await copyFile(copy, f.path, constants.COPYFILE_EXCL);
      result.restored.push(f.path);
    } catch (err) {
      result.notRestored.push({ path: f.path, copy, why: `not writable here (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
    }
  }
  return result;
}
