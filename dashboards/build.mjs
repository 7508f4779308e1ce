// `npm run build:portal`: builds the portal with Vite unless dashboards/dist is newer than every
// input (sources, the contracts it bundles, the lock file), so `npm start`/`npm test` stay fast.
// `--force` rebuilds regardless. Plain JavaScript so it runs without a TypeScript loader.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const stamp = join(here, 'dist', 'index.html');
const inputs = [
  join(here, 'src'),
  join(here, 'index.html'),
  join(here, 'vite.config.ts'),
  join(here, 'build.mjs'),
  join(root, 'contracts'),
  join(root, 'package-lock.json'),
];

/** Newest modification time (ms) under a file or folder. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const force = process.argv.includes('--force');
if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...inputs.map(newest))) {
  process.stderr.write('[build:portal] dashboards/dist is up to date\n');
} else {
  const { build } = await import('vite');
  await build({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn' });
  process.stderr.write('[build:portal] built dashboards/dist\n');
}
