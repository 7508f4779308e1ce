// ops/installed-packages.mjs: whether ops/setup.mjs may skip `npm ci` — node_modules must hold
// what the lock pins, judged by content (npm's node_modules/.package-lock.json), never by file
// times: an upgrade from a release whose lock file carries an older time than the installed
// packages used to skip npm ci and run the new code on the old packages.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installedMatchesLock } from '../../ops/installed-packages.mjs';

const src = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Packages = Record<string, { version?: string; integrity?: string; optional?: boolean }>;
const lockPackages: Packages = {
  '': { version: '0.1.0' },
  'node_modules/zod': { version: '4.1.0', integrity: 'sha512-zod' },
  'node_modules/node': { version: '24.21.0', integrity: 'sha512-node' },
  'node_modules/@rolldown/binding-win32-x64-msvc': { version: '1.0.0', integrity: 'sha512-win', optional: true },
};
const installedPackages = (): Packages => ({ 'node_modules/zod': { ...lockPackages['node_modules/zod'] }, 'node_modules/node': { ...lockPackages['node_modules/node'] } });

function project(lock: Packages, installed: Packages | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'quantrac-pkgs-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: lock }));
  if (installed) {
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules', '.package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: installed }));
  }
  return dir;
}

describe('installedMatchesLock', () => {
  it("holds for this checkout's own node_modules (what npm ci installed)", () => {
    expect(installedMatchesLock(src)).toBe(true);
  });

  it('holds when only optional packages of other platforms are absent', () => {
    expect(installedMatchesLock(project(lockPackages, installedPackages()))).toBe(true);
  });

  it('fails for a changed lock even when its file time is older than the installed packages', () => {
    const lock = { ...lockPackages, 'node_modules/zod': { version: '4.6.7', integrity: 'sha512-zod-new' } };
    const dir = project(lock, installedPackages());
    utimesSync(join(dir, 'package-lock.json'), new Date('2026-11-20'), new Date('2026-11-20')); // as unpacked from a release
    expect(installedMatchesLock(dir)).toBe(false);
  });

  it('fails when a required package is missing, an extra one is installed, or nothing was installed', () => {
    const missing = installedPackages();
    delete missing['node_modules/zod'];
    expect(installedMatchesLock(project(lockPackages, missing))).toBe(false);
    expect(installedMatchesLock(project(lockPackages, { ...installedPackages(), 'node_modules/left-over': { version: '1.0.0' } }))).toBe(false);
    expect(installedMatchesLock(project(lockPackages, undefined))).toBe(false);
    const sameVersionOtherBytes = installedPackages();
    sameVersionOtherBytes['node_modules/node']!.integrity = 'sha512-other';
    expect(installedMatchesLock(project(lockPackages, sameVersionOtherBytes))).toBe(false);
  });
});
