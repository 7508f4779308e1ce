// The citizen portal in a real browser against the real pipeline: readings published over MQTT
// give the expected air markers (colour and text), update them live, fill the flood view and the
// station charts; the language switch works. Screenshots go to test-results/screenshots/.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUser } from '../../api/auth.ts';
import { loadRegistry } from '../../contracts/stations.ts';
import { stationReadingTopic } from '../../contracts/topics.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { eventually } from '../support/influx.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';

const SHOTS = 'test-results/screenshots';
const MIN = 60_000;
const registry = loadRegistry();
let t: TestQuantrac;
let browser: TestBrowser;
const gateways = new Map<string, MqttClient>();

async function publish(stationId: string, msAgo: number, values: Record<string, number>): Promise<void> {
  const gw = registry.get(stationId)?.gatewayId;
  if (!gw) throw new Error(`no station ${stationId}`);
  let client = gateways.get(gw);
  if (!client) {
    client = await t.connectGateway(gw);
    gateways.set(gw, client);
  }
  await client.publishAsync(stationReadingTopic(stationId), JSON.stringify({ ts: new Date(Date.now() - msAgo).toISOString(), values }), { qos: 1 });
}

/** The same concentrations over the last ~2 h, so the hourly NowCast equals them. */
async function steadyAir(stationId: string, values: Record<string, number>): Promise<void> {
  for (const ago of [125 * MIN, 65 * MIN, 1 * MIN]) await publish(stationId, ago, values);
}

async function storedLatest(stationId: string): Promise<unknown> {
  const r = (await (await fetch(`${t.httpUrl}/api/stations/${stationId}/latest`)).json()) as { latest: { ts: string } | null };
  return r.latest && Date.now() - Date.parse(r.latest.ts) < 5 * MIN ? r.latest : undefined;
}

async function openPage(hash: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${t.httpUrl}/${hash}`);
  return page;
}

const marker = (page: Page, id: string) => page.locator(`.aqi-marker[data-station="${id}"] .pin`);

beforeAll(async () => {
  // No-op when dashboards/dist is newer than its sources (npm test has normally built it).
  execFileSync(process.execPath, ['dashboards/build.mjs'], { stdio: 'inherit' });
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestQuantrac();
  await steadyAir('air-001', { pm25: 10, pm10: 20, no2: 20 }); // VN_AQI 20 → Tốt
  await steadyAir('air-002', { pm25: 60, pm10: 80 }); // PM2.5 60 → 117 → Kém
  await steadyAir('air-003', { pm25: 200, pm10: 250 }); // PM2.5 200 → 250 → Rất xấu
  await publish('air-004', 50 * MIN, { pm25: 30 }); // silent for 50 min (interval 60 s) → stale
  // The rest of the city, so the map is as dense as in production.
  const others = registry.stations.filter((s) => s.kind === 'air' && !['air-001', 'air-002', 'air-003', 'air-004'].includes(s.id));
  for (const [i, s] of others.entries()) await publish(s.id, 2 * MIN, { pm25: 8 + ((i * 37) % 160), pm10: 20 + ((i * 53) % 200) });
  for (const [ago, level] of [[50, 10.2], [35, 10.3], [20, 10.45], [1, 10.6]] as const) await publish('flood-longbien', ago * MIN, { level_m: level });
  await publish('street-001', 2 * MIN, { depth_cm: 35 });
  for (const [ago, mm] of [[200, 20], [120, 15], [30, 12], [2, 8]] as const) await publish('rain-001', ago * MIN, { rain_mm: mm, interval_s: 300 });
  await eventually(() => storedLatest('air-001'), 15_000, 'readings stored');
  await eventually(() => storedLatest('rain-001'), 15_000, 'rain stored');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('air-quality map', () => {
  it('colours each station by its VN_AQI category, with the value and category as text', async () => {
    const page = await openPage('#/air');
    await expect.poll(() => marker(page, 'air-001').getAttribute('data-category'), { timeout: 15_000 }).toBe('good');
    const expected = [
      ['air-001', 'good', 'Tốt', 'rgb(0, 228, 0)'],
      ['air-002', 'poor', 'Kém', 'rgb(255, 126, 0)'],
      ['air-003', 'very_bad', 'Rất xấu', 'rgb(143, 63, 151)'],
    ] as const;
    for (const [id, category, label, colour] of expected) {
      const pin = marker(page, id);
      await expect.poll(() => pin.getAttribute('data-category')).toBe(category);
      expect(await pin.getAttribute('data-scale')).toBe('vn');
      expect(await pin.locator('.pin-label').textContent()).toBe(label);
      expect(await pin.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(colour);
    }
    expect(await marker(page, 'air-002').locator('.pin-value').textContent()).toMatch(/^11[67]$/);
    // A station silent for more than 3 intervals is greyed and says so.
    expect(await marker(page, 'air-004').getAttribute('data-stale')).toBe('true');
    expect(await page.locator('.aqi-marker[data-station="air-004"]').getAttribute('aria-label')).toContain('Dữ liệu cũ');
    // The scale is named on the page; no internet tiles: ward names are drawn instead.
    expect(await page.getByTestId('legend').textContent()).toContain('VN_AQI');
    expect(await page.locator('.ward-label', { hasText: 'Hoàn Kiếm' }).count()).toBeGreaterThan(0);

    // Choosing a station (by keyboard) shows the dominant pollutant, advice and freshness.
    await page.locator('.aqi-marker[data-station="air-002"]').focus();
    await page.keyboard.press('Enter');
    const detail = page.getByTestId('air-detail');
    await expect.poll(() => detail.textContent()).toContain('Bụi PM2.5');
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain('Kém');
    expect(text).toContain('Nhóm nhạy cảm');
    expect(text).toContain('Nên giảm các hoạt động mạnh');
    expect(text).toMatch(/cập nhật .*(phút|giây|bây giờ)/);
    // From the list: the map centres on the station, close enough to read the category names.
    await page.locator('[data-testid="air-list"] button[data-station="air-001"]').click();
    await expect.poll(() => page.getByTestId('air-map').getAttribute('class')).not.toContain('zoom-low');
    await page.screenshot({ path: `${SHOTS}/air-map.png`, fullPage: true });

    // US AQI on the switch: the whole map changes scale, never mixed.
    await page.getByTestId('scale-us').check();
    await expect.poll(() => marker(page, 'air-002').getAttribute('data-scale')).toBe('us');
    const scales = await page.locator('.aqi-marker .pin').evaluateAll((els) => [...new Set(els.map((e) => (e as HTMLElement).dataset.scale))]);
    expect(scales).toEqual(['us']);
    expect(await page.getByTestId('legend').textContent()).toContain('US EPA');
    await page.close();
  });

  it('changes a marker live when a reading arrives over MQTT, without reloading', async () => {
    const page = await openPage('#/air');
    const pin = marker(page, 'air-001');
    await expect.poll(() => pin.getAttribute('data-category'), { timeout: 15_000 }).toBe('good');
    await expect.poll(() => page.getByTestId('live-status').getAttribute('class')).toContain('live-live');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await publish('air-001', 0, { pm25: 120, pm10: 150, no2: 20 });
    await expect.poll(() => pin.getAttribute('data-category'), { timeout: 15_000 }).not.toBe('good');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.close();
  });
});

describe('flood view', () => {
  it('shows the river gauge against its levels, street depth and rainfall', async () => {
    const page = await openPage('#/flood');
    const card = page.locator('[data-testid="river-list"] [data-station="flood-longbien"]');
    await expect.poll(() => card.getAttribute('data-state'), { timeout: 15_000 }).toBe('II');
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('Báo động II');
    expect(text).toContain('10,6');
    expect(text).toContain('Đang lên');
    expect(text).toMatch(/Dự báo tới Báo động III/);
    expect(await page.locator('.flood-marker[data-station="flood-longbien"]').getAttribute('aria-label')).toContain('Báo động II');
    expect(await page.locator('[data-testid="street-list"] [data-station="street-001"]').textContent()).toContain('35 cm');
    const rain = page.locator('[data-testid="rain-table"] [data-station="rain-001"]');
    await expect.poll(() => rain.textContent()).toContain('55 mm');
    expect(await rain.textContent()).toContain('Mưa to'); // 55 mm / 24 h
    await page.screenshot({ path: `${SHOTS}/flood-map.png`, fullPage: true });
    await page.close();
  });
});

describe('station page', () => {
  it('draws the 24-hour and 7-day charts with the limit, and the hourly AQI', async () => {
    const page = await openPage('#/station/air-002');
    const chart24 = page.getByTestId('chart-chart24h');
    await expect.poll(() => chart24.getAttribute('data-points'), { timeout: 15_000 }).not.toBeNull();
    expect(Number(await chart24.getAttribute('data-points'))).toBeGreaterThanOrEqual(3);
    expect(await chart24.locator('canvas').count()).toBe(1);
    expect(await chart24.locator('.u-legend').textContent()).toContain('QCVN 05:2023');
    await expect.poll(() => page.getByTestId('hourly-aqi').locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('hourly-aqi').textContent()).toContain('Kém');
    await page.screenshot({ path: `${SHOTS}/station-air-002.png`, fullPage: true });
    await page.close();
  });

  it('is reachable by path too (the API serves index.html for unknown paths)', async () => {
    const page = await openPage('station/flood-longbien');
    await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toContain('Long Biên');
    expect(await page.getByTestId('chart-chart24h').locator('.u-legend').textContent()).toContain('Báo động III');
    await page.close();
  });
});

describe('language', () => {
  it('is Vietnamese by default and switches to English', async () => {
    const page = await openPage('#/air');
    expect(await page.locator('html').getAttribute('lang')).toBe('vi');
    await expect.poll(() => marker(page, 'air-002').locator('.pin-label').textContent(), { timeout: 15_000 }).toBe('Kém');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('en');
    await expect.poll(() => marker(page, 'air-002').locator('.pin-label').textContent(), { timeout: 15_000 }).toBe('Poor');
    expect(await page.locator('nav').textContent()).toContain('Air quality');
    // The choice is remembered, and switching back restores Vietnamese.
    await page.reload();
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('en');
    await page.getByTestId('lang-switch').click();
    await expect.poll(() => marker(page, 'air-002').locator('.pin-label').textContent(), { timeout: 15_000 }).toBe('Kém');
    await page.close();
  });
});

describe('officer console', () => {
  // The Long Biên gauge has been above level II since beforeAll: the engine has an active alert.
  async function officerAcknowledges(): Promise<void> {
    await setUser(t.q.config.apiUsersPath, 'officer-test', 'officer', 'mat-khau-thu-nghiem');
    const page = await openPage('#/officer');
    // The console's alert stream: no token in its URL (URLs reach proxy logs); it authenticates in
    // its first message and gets the snapshot.
    const sockets: { url: string; frames: string[] }[] = [];
    page.on('websocket', (ws) => {
      const s = { url: ws.url(), frames: [] as string[] };
      sockets.push(s);
      ws.on('framereceived', (f) => s.frames.push(String(f.payload)));
    });
    await page.fill('#officer-user', 'officer-test');
    await page.fill('#officer-pass', 'mat-khau-thu-nghiem');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    const open = page.locator('[data-testid="active-alerts"] .alert-card[data-acknowledged="false"]');
    await expect.poll(() => open.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const card = open.first();
    const id = await card.getAttribute('data-alert');
    await card.getByTestId('ack-note').fill('Đã cử đội kiểm tra đê');
    await card.getByTestId('ack-button').click();
    const acked = page.locator(`.alert-card[data-alert="${id}"] [data-testid="acked"]`);
    await expect.poll(() => acked.textContent(), { timeout: 10_000 }).toContain('Đã cử đội kiểm tra đê');
    expect(await acked.textContent()).toContain('officer-test');
    const officerSockets = sockets.filter((s) => s.url.includes('/ws/officer'));
    expect(officerSockets.length).toBeGreaterThan(0);
    for (const s of officerSockets) expect(s.url).not.toMatch(/token/);
    await expect.poll(() => officerSockets.some((s) => s.frames.some((f) => f.includes('"type":"snapshot"'))), { timeout: 10_000 }).toBe(true);
    await page.screenshot({ path: `${SHOTS}/officer.png`, fullPage: true });
    await page.close();
  }
  it('logs in and acknowledges an active alert with a note', officerAcknowledges);
});
