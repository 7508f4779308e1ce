// The report page in Debian's chromium, printed to A4 PDF (page.pdf) and read back with poppler's
// pdftotext: the hand-checked November figures (test/api/report-fixtures.ts) are on paper, in
// Vietnamese and in English, without the portal's header and controls; the pages are A4.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startTestQuantrac, type TestQuantrac } from '../support/quantrac.ts';
import { writePoints } from '../api/fixtures.ts';
import { airNovember, floodNovember, rainNovember, waterNovember } from '../api/report-fixtures.ts';

const OUT = 'test-results/reports';
let t: TestQuantrac;
let browser: TestBrowser;

/** Opens the report page, prints it to A4 PDF, returns the PDF's text (layout kept) and its page info. */
async function printReport(hash: string, file: string): Promise<{ text: string; info: string }> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${t.httpUrl}/${hash}`);
  await page.waitForSelector('body[data-report-ready="true"]');
  const path = `${OUT}/${file}`;
  await page.pdf({ path, format: 'A4', printBackground: true });
  await page.close();
  return { text: execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' }), info: execFileSync('pdfinfo', [path], { encoding: 'utf8' }) };
}

const squash = (s: string) => s.replace(/\s+/g, ' ');

beforeAll(async () => {
  execFileSync(process.execPath, ['dashboards/build.mjs'], { stdio: 'inherit' });
  mkdirSync(OUT, { recursive: true });
  t = await startTestQuantrac({ API_CACHE_TTL_MS: '0' });
  await t.q.influx.ensureDatabase();
  await writePoints(t.database, [...airNovember(), ...rainNovember(), ...floodNovember(), ...waterNovember()]);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('report page printed to A4 PDF', () => {
  it('a station report in Vietnamese carries its figures and no portal chrome', async () => {
    const { text, info } = await printReport('#/report/station/2026-11/air-001', 'station-air-001-2026-11.pdf');
    expect(info).toMatch(/Page size:\s+59[56]\.\d+ x 84[12]\.\d+ pts \(A4\)/);
    const flat = squash(text);
    expect(flat).toContain('Báo cáo quan trắc môi trường — Trạm Quan trắc không khí Hoàn Kiếm');
    expect(flat).toContain('Tháng 2026-11');
    expect(flat).toMatch(/Kém 3 /); // days per category
    expect(flat).toMatch(/Không đủ số liệu 25/);
    expect(flat).toMatch(/NO₂ 1 giờ 200 3 giờ 24/); // 3 hours over the 1 h limit, of 24 valid hours
    expect(flat).toMatch(/O₃ 8 giờ 120 1 ngày 1/);
    expect(flat).toMatch(/Bụi PM2\.5 27,8 25 Có \(chưa đủ số liệu\)/);
    expect(flat).toMatch(/Bụi PM2\.5 131 \/ 720 18,2 5 \/ 30 16,7/);
    expect(flat).not.toContain('Ngập lụt & mưa'); // the navigation is not printed
    expect(flat).not.toContain('Xem báo cáo'); // nor the controls
  });

  it('a ward report in English spans pages with every station and the area summary', async () => {
    const { text, info } = await printReport(`?lang=en#/report/ward/2026-11/${encodeURIComponent('Hồng Hà')}`, 'ward-hong-ha-2026-11.pdf');
    expect(info).toMatch(/\(A4\)/);
    const flat = squash(text);
    expect(flat).toContain('Environmental monitoring report — Ward/commune Hồng Hà');
    expect(flat).toContain('Days per daily VN_AQI (worst station each day)');
    expect(flat).toMatch(/Alert level I \(9\.5 m\) 3 Alert level II \(10\.5 m\) 1 Alert level III \(11\.5 m\) 0/);
    expect(flat).toMatch(/Peak: 10\.9 m — 15\/11\/2026,? 03:25 \(Alert level II\)/);
    expect(flat).toContain('Stations without data in the period');
  });

  it('rain and water reports print their monthly tables', async () => {
    const rain = squash((await printReport('?lang=en#/report/station/2026-11/rain-001', 'station-rain-001-2026-11.pdf')).text);
    expect(rain).toMatch(/2026-11 42 24 — 10\/11\/2026,? 14:00 36 — 09\/11\/2026,? 16:00 2/);
    const water = squash((await printReport('?lang=en#/report/station/2026-11/water-001', 'station-water-001-2026-11.pdf')).text);
    expect(water).toContain('QCVN 08:2023/BTNMT class per month — Designated class: B');
    expect(water).toMatch(/2026-11 B Yes Yes/);
  });

  it('the city report runs over several A4 pages, each station starting with its heading', async () => {
    const { text, info } = await printReport('?lang=en#/report/city/2026-11', 'city-2026-11.pdf');
    expect(Number(/Pages:\s+(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(2);
    const flat = squash(text);
    for (const id of ['air-001', 'rain-001', 'flood-longbien', 'water-001']) expect(flat).toContain(`(${id})`);
    expect(flat).toContain('Environmental monitoring report — Whole city');
  });
});
