// How the citizens' portal shows quality, in a real browser against the real pipeline: a value QC
// flags suspect is shown, marked as suspect with a note, and still counts in the index (not hidden);
// a station calibrating (status in its reading) or faulty (status on the gateway's status topic)
// says so, and the values it sends meanwhile — calibration gas — never colour its marker, neither
// from the snapshot nor when they arrive live; a value an officer marks invalid through the API is
// shown marked, left out of the index, and marked in the CSV export. Screenshots go to
// test-results/screenshots/.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { stationReadingTopic } from '../../contracts/topics.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const SHOTS = 'test-results/screenshots';
/** expect.poll waits 1 s by default: too short for a page on a loaded machine. */
const POLL = { timeout: 15_000 };
const MIN = 60_000;
const GATEWAY = 'gw-air-01'; // air-005 … air-009
let t: TestQuantrac;
let gw: MqttClient;
let browser: TestBrowser;

async function publish(stationId: string, msAgo: number, values: Record<string, number>, status?: string): Promise<void> {
  const body = { ts: new Date(Date.now() - msAgo).toISOString(), values, ...(status ? { status } : {}) };
  await gw.publishAsync(stationReadingTopic(stationId), JSON.stringify(body), { qos: 1 });
}
const setStatus = (stationId: string, code: string) =>
  gw.publishAsync(`gateways/${GATEWAY}/status`, JSON.stringify({ status: 'online', stations: { [stationId]: code } }), { qos: 1 });

/** Clean air over the last ~2 h, so the hourly NowCast is "good" (VN_AQI ≤ 50). */
async function cleanAir(stationId: string, pm25: number): Promise<void> {
  for (const ago of [125, 65, 10]) await publish(stationId, ago * MIN, { pm25, pm10: 2 * pm25 });
}

async function served(stationId: string, pm25: number): Promise<void> {
  await eventually(async () => {
    const r = (await (await fetch(`${t.httpUrl}/api/stations/${stationId}/latest`)).json()) as { latest: { values: Record<string, number> } | null };
    return r.latest?.values.pm25 === pm25 ? true : undefined;
  }, 15_000, `${stationId} serving pm25 ${pm25}`);
}

async function openAir(): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${t.httpUrl}/#/air`);
  await expect.poll(() => pin(page, 'air-005').getAttribute('data-category'), { timeout: 15_000 }).not.toBeNull();
  return page;
}
const pin = (page: Page, id: string) => page.locator(`.aqi-marker[data-station="${id}"] .pin`);
const choose = (page: Page, id: string) => page.locator(`[data-testid="air-list"] button[data-station="${id}"]`).click();
const detail = (page: Page) => page.getByTestId('air-detail');

beforeAll(async () => {
  execFileSync(process.execPath, ['dashboards/build.mjs'], { stdio: 'inherit' }); // no-op when dist is fresh
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '0' }); // no max-age: a page opened after the officer's mark reads it
  gw = await t.connectGateway(GATEWAY);
  // air-005: a sudden 700 µg/m³ — above the 600 operator limit and too fast: suspect (flag 3).
  await cleanAir('air-005', 20);
  await publish('air-005', 1 * MIN, { pm25: 700, pm10: 40 });
  // air-006: calibrating with span gas at 900 µg/m³ (status "01" in the reading).
  await cleanAir('air-006', 10);
  await publish('air-006', 2 * MIN, { pm25: 900, pm10: 950 }, '01');
  // air-007: the gateway reports a device fault; its next reading is marked, not used.
  await cleanAir('air-007', 12);
  await setStatus('air-007', '02');
  await publish('air-007', 2 * MIN, { pm25: 800, pm10: 900 });
  // air-008: clean, for the live calibration below.
  await cleanAir('air-008', 11);
  // air-009: clean, then 300 µg/m³ (passes QC) that an officer will mark invalid.
  await cleanAir('air-009', 10);
  await publish('air-009', 2 * MIN, { pm25: 300, pm10: 20 });
  for (const [id, pm25] of [['air-005', 700], ['air-006', 900], ['air-007', 800], ['air-008', 11], ['air-009', 300]] as const) await served(id, pm25);
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('portal: quality flags and station status', () => {
  it('shows a suspect value as suspect, with a note, and counts it in the index (not hidden)', async () => {
    const page = await openAir();
    await choose(page, 'air-005');
    const row = detail(page).locator('tr[data-qc="3"]');
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.textContent()).toMatch(/700.*µg\/m³.*\(nghi vấn\)/);
    expect(await detail(page).getByTestId('qc-pm25').textContent()).toContain('nghi vấn');
    expect(await detail(page).locator('.qc-note').textContent()).toContain('Giá trị nghi vấn vẫn được hiển thị và sử dụng');
    // Used, not dropped: the 700 µg/m³ hour makes the marker worse than the clean hours alone (good).
    expect(await pin(page, 'air-005').getAttribute('data-category')).not.toBe('good');
    expect(await detail(page).locator('tr[data-qc]').count()).toBe(1); // PM10 40 µg/m³ passed: unmarked
    await page.screenshot({ path: `${SHOTS}/portal-suspect.png`, fullPage: true });

    // The station page shows the same mark, in English after the switch.
    await page.goto(`${t.httpUrl}/#/station/air-005`);
    await expect.poll(() => page.locator('.current tr[data-qc="3"]').count(), POLL).toBe(1);
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.locator('.current [data-testid="qc-pm25"]').textContent(), POLL).toContain('suspect');
    await page.getByTestId('lang-switch').click();
    await page.close();
  });

  it('says a station is under calibration, shows its values, and keeps them out of its marker', async () => {
    const page = await openAir();
    // The AQI comes from the measuring readings (PM2.5 10 µg/m³): good, never the span gas's hazardous.
    expect(await pin(page, 'air-006').getAttribute('data-category')).toBe('good');
    expect(await page.locator('.aqi-marker[data-station="air-006"]').getAttribute('aria-label')).toContain('hiệu chuẩn');
    await choose(page, 'air-006');
    const notice = detail(page).getByTestId('station-status');
    await expect.poll(() => notice.getAttribute('data-status'), POLL).toBe('calibrating');
    expect(await notice.textContent()).toContain('Trạm đang hiệu chuẩn');
    expect(await detail(page).textContent()).toContain('900'); // stored and shown, just not used
    expect(await detail(page).getByTestId('detail-aqi').textContent()).toContain('Tốt');
    await page.screenshot({ path: `${SHOTS}/portal-calibrating.png`, fullPage: true });
    await page.close();
  });

  it('says a station reported faulty on the gateway status topic is under maintenance', async () => {
    const page = await openAir();
    expect(await pin(page, 'air-007').getAttribute('data-category')).toBe('good');
    await choose(page, 'air-007');
    const notice = detail(page).getByTestId('station-status');
    await expect.poll(() => notice.getAttribute('data-status'), POLL).toBe('fault');
    expect(await notice.textContent()).toContain('Trạm đang bảo trì');
    await page.close();
  });

  it('a calibration reading arriving live never colours the marker, before or after the server recomputes', async () => {
    const page = await openAir();
    const marker = pin(page, 'air-008');
    await expect.poll(() => marker.getAttribute('data-category'), POLL).toBe('good');
    await choose(page, 'air-008');
    await expect.poll(() => page.getByTestId('live-status').getAttribute('class'), POLL).toContain('live-live');
    // Every category the marker takes from now on.
    await page.evaluate(() => {
      const el = document.querySelector('.aqi-marker[data-station="air-008"] .pin') as HTMLElement;
      const seen: string[] = ((window as unknown as { seen: string[] }).seen = []);
      new MutationObserver(() => seen.push(el.dataset.category ?? '')).observe(el, { attributes: true, attributeFilter: ['data-category'] });
    });
    const refetched = page.waitForResponse((r) => r.url().includes('/api/snapshot/air'), { timeout: 15_000 });
    await publish('air-008', 0, { pm25: 900, pm10: 950 }, '01');
    await expect.poll(() => detail(page).getByTestId('station-status').getAttribute('data-status'), POLL).toBe('calibrating');
    await refetched; // the portal's snapshot refresh after a live reading
    await expect.poll(() => page.evaluate(() => (window as unknown as { seen: string[] }).seen.length), POLL).toBeGreaterThan(0);
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(new Set(seen)).toEqual(new Set(['good']));
    expect(await marker.getAttribute('data-category')).toBe('good');
    await page.close();
  });

  it('shows a value an officer marked invalid as such, leaves it out of the index, and marks it in the export', async () => {
    const aqiOf = async () => {
      const snap = (await (await fetch(`${t.httpUrl}/api/snapshot/air`)).json()) as { features: { id: string; properties: { aqi: { category: string } | null } }[] };
      return snap.features.find((f) => f.id === 'air-009')?.properties.aqi?.category;
    };
    expect(await aqiOf()).not.toBe('good'); // the 300 µg/m³ reading counts until marked
    await setUser(t.q.config.apiUsersPath, 'officer-qc', 'officer', 'mat-khau-thu-nghiem');
    const login = await fetch(`${t.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'officer-qc', password: 'mat-khau-thu-nghiem' }) });
    const { token } = (await login.json()) as { token: string };
    const now = Date.now();
    const mark = await fetch(`${t.httpUrl}/api/stations/air-009/validations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ parameter: 'pm25', from: new Date(now - 5 * MIN).toISOString(), to: new Date(now).toISOString(), reason: 'Đầu đo bám bụi, chờ vệ sinh' }),
    });
    expect(mark.status).toBe(201);

    const page = await openAir();
    expect(await pin(page, 'air-009').getAttribute('data-category')).toBe('good'); // from the clean hours only
    await choose(page, 'air-009');
    const row = detail(page).locator('tr[data-excluded="true"]');
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.textContent()).toMatch(/300.*µg\/m³.*cán bộ đã đánh dấu không hợp lệ/);
    expect(await detail(page).locator('.excluded-note').textContent()).toContain('không dùng để tính AQI');
    await page.screenshot({ path: `${SHOTS}/portal-officer-invalid.png`, fullPage: true });
    await page.close();

    const csv = await (await fetch(`${t.httpUrl}/api/export.csv?station=air-009&from=${now - 3 * 60 * MIN}&to=${now + MIN}`)).text();
    const marked = csv.trim().split('\n').filter((l) => l.includes(',300,'));
    expect(marked).toHaveLength(1);
    expect(marked[0]).toMatch(/,pm25:invalid$/);
  });
});
