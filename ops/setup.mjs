// Set-up before `npm start`, `npm test` and `npm run bench`: installs what is missing (npm packages,
// Debian's influxdb, chromium, mosquitto-clients, and for the cluster nats-server and haproxy) or stops with the exact command to run.
// Plain JavaScript with no dependencies: it runs before node_modules exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedMatchesLock } from './installed-packages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] ?? 'start';

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`\n[setup] cannot continue: ${msg}\n\n`);
  process.exit(1);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Set-up itself runs on any Node from 18 on: it is what brings the project's own Node. */
function checkNode() {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 18) fail(`Node ${process.versions.node} is too old even to run the set-up; install Node 22.18 or newer (24 LTS recommended).`);
}

/**
 * The project runs on Node 24 LTS: the `node` package in devDependencies installs Node 24 from the
 * npm registry into node_modules/.bin, which npm scripts put first on PATH, so `npm start`,
 * `npm test` and `npm run bench` use it whatever Node the machine has. Node 22.18+ also works
 * (native type stripping: no transpiler at run time).
 */
function checkProjectNode() {
  const bin = join(root, 'node_modules', '.bin', 'node');
  const r = spawnSync(existsSync(bin) ? bin : 'node', ['--version'], { encoding: 'utf8' });
  const [major, minor] = (r.stdout ?? '').trim().replace(/^v/, '').split('.').map(Number);
  if (!(major > 22 || (major === 22 && minor >= 18))) {
    fail(`the project's Node (${(r.stdout ?? '').trim() || 'none'}) is older than 22.18; run \`npm ci\` (it installs Node 24 into node_modules) or install Node 24 LTS.`);
  }
}

/** True when this Node satisfies the lowest `engines.node` our dependencies declare (>= 22.18). */
function runningNodeIsSupported() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

/**
 * The Node 24 binary of the `node` package the lock file pins, fetched from the npm registry into
 * npm's own cache (`npm exec`, as `npx -y node@24` does), or null if that failed. Used to run the
 * first `npm ci` on Node 24 when the machine's Node is older: npm checks each package's `engines`
 * against the Node it runs on, so `npm ci` on Node 20 warns EBADENGINE for dependencies that
 * need Node >= 22 (content-disposition 3, cookie 2) although quantrac itself never runs on it.
 */
function fetchProjectNode() {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const version = lock.packages?.['node_modules/node']?.version;
  if (!version) return null;
  log(`fetching Node ${version} from the npm registry to run npm ci on it (npm exec node@${version})...`);
  const r = spawnSync('npm', ['exec', '--yes', `--package=node@${version}`, '--', 'node', '-p', 'process.execPath'], {
    cwd: tmpdir(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bin = (r.stdout ?? '').trim().split('\n').pop();
  return r.status === 0 && bin && existsSync(bin) ? bin : null;
}

/** npm ci when node_modules does not hold what the lock file pins, run on Node 24 (see above). */
function ensureNodeModules() {
  if (installedMatchesLock(root)) return;
  let env = process.env;
  if (!runningNodeIsSupported()) {
    const node24 = fetchProjectNode();
    if (node24) env = { ...process.env, PATH: `${dirname(node24)}${delimiter}${process.env.PATH ?? ''}` };
    else log(`could not fetch Node 24 first: npm ci runs on Node ${process.versions.node} and may warn EBADENGINE (harmless: quantrac runs on the Node 24 it installs)`);
  }
  log('installing npm packages (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) fail('`npm ci` failed; run it yourself in the project folder to see why.');
}

/** Debian packages the project runs; `bin` is what must be on PATH afterwards. */
const DEBIAN_PACKAGES = {
  influxdb: { bin: 'influxd', why: 'the local InfluxDB 1.x server' },
  chromium: { bin: 'chromium', why: 'the browser the portal tests drive', with: ['fonts-liberation'] },
  'mosquitto-clients': { bin: 'mosquitto_pub', why: 'publishing a reading by hand, as the README shows' },
  'poppler-utils': { bin: 'pdftotext', why: 'reading the text of the report page printed to PDF (test/dashboards/report-print.test.ts)' },
  strace: { bin: 'strace', why: 'the tests that check syscall order (fdatasync before PUBACK, one write per packet)' },
  'nats-server': { bin: 'nats-server', why: 'the JetStream cluster of `npm run cluster` and its tests' },
  haproxy: { bin: 'haproxy', why: 'the MQTT load balancer in front of the cluster edges' },
  'victoria-metrics': { bin: 'victoria-metrics', why: 'the second real server of the v2 write path (test/ingest/victoria-metrics.test.ts)' },
  systemd: { bin: 'systemd-analyze', why: 'verifying the production units (test/ops/systemd.test.ts)' },
};

function ensureDebianPackages(names) {
  const missing = names.filter((n) => !has(DEBIAN_PACKAGES[n].bin));
  if (missing.length === 0) return;
  const install = missing.flatMap((n) => [n, ...(DEBIAN_PACKAGES[n].with ?? [])]);
  const cmd = `apt-get update && apt-get install -y ${install.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    const what = missing.map((n) => `${n} (${DEBIAN_PACKAGES[n].why})`).join(', ');
    fail(`missing ${what}. Install with:\n\n    sudo ${cmd}\n`);
  }
  log(`installing Debian packages: ${install.join(', ')} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt (unattended-upgrades, a second checkout's set-up) may hold the dpkg lock: wait for
  // it up to five minutes rather than fail.
  const lock = '-o DPkg::Lock::Timeout=300';
  try {
    execFileSync('sh', ['-c', `apt-get ${lock} update -qq && apt-get ${lock} install -y -qq --no-install-recommends ${install.join(' ')}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
  } catch {
    fail(`installing ${missing.join(', ')} failed. Run it yourself to see why:\n\n    ${cmd}\n`);
  }
  const still = missing.filter((n) => !has(DEBIAN_PACKAGES[n].bin));
  if (still.length > 0) fail(`after installing, ${still.map((n) => DEBIAN_PACKAGES[n].bin).join(', ')} is still not on PATH.`);
}

/** Builds the portal when its sources are newer than the last build. */
function ensurePortalBuilt() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (!pkg.scripts?.['build:portal']) return;
  log('building the portal (npm run build:portal)...');
  const r = spawnSync('npm', ['run', '-s', 'build:portal'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('building the portal failed; run `npm run build:portal` to see why.');
}

checkNode();
ensureNodeModules();
checkProjectNode();
// `install` (ops/install.sh): npm packages and the portal only; install.sh sees to Debian's packages.
const needInflux = purpose !== 'install' && (!process.env.INFLUX_URL || purpose === 'test' || purpose === 'bench');
const packages = [];
if (needInflux) packages.push('influxdb');
if (purpose === 'test') packages.push('chromium', 'mosquitto-clients', 'poppler-utils', 'strace', 'victoria-metrics', 'systemd');
if (purpose === 'test' || purpose === 'cluster' || purpose === 'bench') packages.push('nats-server', 'haproxy');
ensureDebianPackages(packages);
ensurePortalBuilt();
