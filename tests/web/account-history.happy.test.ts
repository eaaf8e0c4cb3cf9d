import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillHistory } from '../../src/scoring/backfill.js';
import { ROOT } from '../support/process.js';
import { emailOf, type Fixture, PASSWORD, seed, startWebServer, type WebServer } from './support.js';

/**
 * The CSM's account page from the first hour: a portfolio that arrived with
 * months of signals has its history backfilled, and the page shows 90 days of
 * it (the chart), the 7- and 30-day trends, what moved the score and the band
 * changes, in English and Chinese. The English screenshot goes into docs/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`tests/web/account-history.happy.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

let server: WebServer;
let fixture: Fixture;
let browser: Browser;
let axeSource: string;

describe.skipIf(!haveChromium)('the account page with backfilled history', () => {
  beforeAll(async () => {
    server = await startWebServer();
    fixture = await seed(server.db);
    await backfillHistory(server.db, { dailyDays: 90, weeklyUntilDays: 90 });
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const locale of ['en-US', 'zh-CN']) {
    it(`shows 90 days of history, both trends, what moved and the band changes (${locale})`, async () => {
      const zh = locale.startsWith('zh');
      const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-in`);
      await page.getByLabel(zh ? '邮箱' : 'Email').fill(emailOf('csm'));
      await page.getByLabel(zh ? '密码' : 'Password').fill(PASSWORD);
      await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/sign-in')), page.locator('form[action="/sign-in"] button[type=submit]').click()]);

      const res = await page.goto(`${server.url}/accounts/${encodeURIComponent(fixture.account.externalId)}`, { waitUntil: 'load' });
      expect(res?.status()).toBe(200);
      await page.locator('#history-panel .uplot').waitFor({ timeout: 10_000 });
      const chart = JSON.parse((await page.locator('#history-panel [data-chart]').getAttribute('data-chart'))!) as { x: number[]; y: (number | null)[] };
      // 90 backfilled days and today's live score.
      expect(chart.x.length).toBeGreaterThanOrEqual(90);
      expect(new Set(chart.y).size).toBeGreaterThan(1);
      const cards = page.locator('#score-panel .card').nth(1);
      await expect(cards.locator('.big').textContent()).resolves.not.toBe('—');
      expect(await cards.locator('.muted').textContent()).toMatch(zh ? /30 天趋势/ : /30-day trend: [+−-]?\d/);
      await expect(page.locator('#history-panel').textContent()).resolves.toContain(zh ? '事后根据当天已有的信号补算' : 'scored afterwards');
      const moved = await page.locator('#moved-panel table tbody tr').count();
      expect(moved).toBeGreaterThan(0);
      await expect(page.locator('#moved-panel thead').textContent()).resolves.toContain(zh ? '最近 30 天' : 'Last 30 days');

      await page.evaluate(axeSource);
      const axe = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] })`)) as { violations: { id: string; impact: string }[] };
      expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
      await page.screenshot({ path: join(ROOT, 'docs', zh ? 'web-account-history.zh-CN.png' : 'web-account-history.png'), fullPage: true });
      await context.close();
    });
  }
});
