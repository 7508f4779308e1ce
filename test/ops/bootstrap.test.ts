// The first `npm ci` of a fresh clone on a machine whose Node is older than our dependencies need
// (Debian 12's Node 18, NodeSource's 20): ops/setup.mjs fetches the pinned Node 24 from the npm
// registry first and runs npm ci on it, so npm has no engine to warn about (EBADENGINE) and the
// project ends up with Node 24 in node_modules/.bin. Runs the real set-up script, on a real old
// Node (the machine's when it is older than 22, else node@20 from the npm registry), in a scratch
// copy of package.json (scripts left out: no portal build), package-lock.json and ops/setup.mjs with its own imports.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const src = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const dir = mkdtempSync(join(tmpdir(), 'quantrac-bootstrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Node older than 22 to bootstrap with: the machine's own, else node@20 through npm exec. */
function oldNode(): string {
  const system = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  if (system.status === 0 && Number(system.stdout.split('.')[0]) < 22) return '/usr/bin/node';
  return execFileSync('npm', ['exec', '--yes', '--package=node@20', '--', 'node', '-p', 'process.execPath'], { cwd: tmpdir(), encoding: 'utf8' }).trim();
}

it('npm ci on a machine with Node 20: no EBADENGINE warning, Node 24 installed into node_modules/.bin', () => {
  const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  delete pkg.scripts;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  copyFileSync(join(src, 'package-lock.json'), join(dir, 'package-lock.json'));
  mkdirSync(join(dir, 'ops'));
  // setup.mjs and the modules of ours it imports (read from its import lines, so a new one is not missed).
  const setup = readFileSync(join(src, 'ops/setup.mjs'), 'utf8');
  const own = [...setup.matchAll(/from '\.\/([\w.-]+\.mjs)'/g)].map((m) => m[1]!);
  for (const f of ['setup.mjs', ...own]) copyFileSync(join(src, 'ops', f), join(dir, 'ops', f));

  const node = oldNode();
  expect(execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' })).toMatch(/^(18|20|21)\./);
  // PATH as on that machine: its old node first (npm's own `#!/usr/bin/env node` would pick it).
  const PATH = `${join(node, '..')}:${process.env.PATH!.split(':').filter((p) => !p.includes('node_modules')).join(':')}`;
  const r = spawnSync(node, ['ops/setup.mjs', 'install'], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH } });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, out).toBe(0);
  expect(out).toMatch(/installing npm packages/);
  expect(out).not.toMatch(/EBADENGINE|Unsupported engine/);
  expect(execFileSync(join(dir, 'node_modules/.bin/node'), ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
}, 240_000);
