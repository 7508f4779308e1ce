// The officer console's data-validation panel in a real browser against a real server and InfluxDB:
// an officer marks an hour of PM2.5 invalid with a reason → the API reports it excluded and the AQI
// leaves it out → the officer undoes it in the console → the AQI is back; both steps audited.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { HOUR, MIN, writePoints } from '../api/fixtures.ts';

const SHOTS = 'test-results/screenshots';
const STATION = 'air-002';
const H = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
let t: TestQuantrac;
let browser: TestBrowser;

/** "YYYY-MM-DDTHH:mm" in Hanoi time (the browser's time zone) for a datetime-local input. */
const local = (ms: number) => new Date(ms + 7 * HOUR).toISOString().slice(0, 16);
async function aqiAtH(): Promise<number | undefined> {
  const r = (await (await fetch(`${t.httpUrl}/api/stations/${STATION}/aqi?period=hourly&from=${new Date(H).toISOString()}&to=${new Date(H + HOUR).toISOString()}`)).json()) as { points: { aqi: { value: number } | null }[] };
  return r.points[0]?.aqi?.value;
}
const auditActions = () => readFileSync(join(t.dataDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { action: string; actor: string }));

beforeAll(async () => {
  execFileSync(process.execPath, ['dashboards/build.mjs'], { stdio: 'inherit' }); // no-op when dist is fresh
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '0' });
  await t.q.influx.ensureDatabase();
  const lines: string[] = [];
  for (let h = H - 11 * HOUR; h <= H; h += HOUR) lines.push(`air,station=${STATION} pm25=${h === H ? 200 : 20} ${h + 10 * MIN}`);
  await writePoints(t.database, lines);
  await setUser(t.q.config.apiUsersPath, 'officer-test', 'officer', 'mat-khau-thu-nghiem');
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('officer console: data validation', () => {
  it('marks a range invalid with a reason, shows it excluded, and undoes it', async () => {
    const before = await aqiAtH();
    expect(before).toBeGreaterThan(150);
    const page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${t.httpUrl}/#/officer`);
    await page.fill('#officer-user', 'officer-test');
    await page.fill('#officer-pass', 'mat-khau-thu-nghiem');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();

    const panel = page.getByTestId('validation-panel');
    await expect.poll(() => panel.getByTestId('validation-station').locator(`option[value="${STATION}"]`).count()).toBe(1);
    await panel.getByTestId('validation-station').selectOption(STATION);
    await panel.getByTestId('validation-parameter').selectOption('pm25');
    await panel.getByTestId('validation-from').fill(local(H));
    await panel.getByTestId('validation-to').fill(local(H + HOUR));
    await panel.getByTestId('validation-reason').fill('Đầu lấy mẫu bị bẩn, đã thay lọc');
    await panel.getByTestId('validation-submit').click();

    const active = panel.locator('[data-testid="validation-marks"] li[data-revoked="false"]');
    await expect.poll(() => active.count()).toBe(1);
    expect(await active.first().textContent()).toContain('Đầu lấy mẫu bị bẩn, đã thay lọc');
    expect(await panel.getByTestId('validation-excluded').textContent()).toContain('pm25');
    expect(await aqiAtH()).toBe(40); // the 200 µg/m³ hour is out: NowCast of the 20 µg/m³ hours
    await page.screenshot({ path: `${SHOTS}/officer-validation.png`, fullPage: true });

    await active.first().getByTestId('validation-undo').click();
    await expect.poll(() => panel.locator('[data-testid="validation-marks"] li[data-revoked="true"]').count()).toBe(1);
    await expect.poll(() => panel.getByTestId('validation-excluded').textContent()).toBe('');
    expect(await aqiAtH()).toBe(before);
    expect(auditActions()).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'validation.invalidate', actor: 'officer-test' }),
      expect.objectContaining({ action: 'validation.revoke', actor: 'officer-test' }),
    ]));
    await page.close();
  });
});
