import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGS } from '../../src/i18n/index.js';
import { may, type Page as AppPage, ROLES, type Role } from '../../src/people/roles.js';
import { recompute } from '../../src/scoring/recompute.js';
import { ROOT } from '../support/process.js';
import { emailOf, type Fixture, makeAlert, PASSWORD, seed, startWebServer, type WebServer } from './support.js';

/**
 * The web app in a real browser: Debian's Chromium driven by playwright-core.
 * Skipped, with the reason printed, where Chromium is not installed
 * (apt-get install chromium; .ci/run installs it).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`tests/web/browser.happy.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const ARTIFACTS = join(ROOT, 'test-artifacts', 'web');
const SCRIPT_BUDGET_BYTES = 200 * 1024;

let server: WebServer;
let fixture: Fixture;
let browser: Browser;
let axeSource: string;

const pathOf = (page: AppPage) =>
  ({
    portfolio: '/portfolio',
    account: `/accounts/${encodeURIComponent(fixture.account.externalId)}`,
    inbox: '/inbox?view=all',
    followups: '/follow-ups',
    dispatch: '/dispatch',
    kpis: '/kpis',
    scorecards: '/scorecards',
    proof: '/proof',
    admin: '/admin',
  })[page];

async function signIn(role: Role, locale = 'en-US'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel(locale.startsWith('zh') ? '邮箱' : 'Email').fill(emailOf(role));
  await page.getByLabel(locale.startsWith('zh') ? '密码' : 'Password').fill(PASSWORD);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/sign-in')), page.locator('form[action="/sign-in"] button[type=submit]').click()]);
  return { context, page };
}

/** Serious and critical axe-core violations on the current page. */
async function axeViolations(page: Page) {
  await page.evaluate(axeSource);
  // Browser-side code as text: this project's type check has no DOM library.
  const result = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Texts and accessible labels a person reads, outside content marked lang="en" (data such as ticket subjects). */
async function visibleTexts(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const out = [];
    const skip = (el) => !!(el && el.closest('script,style,[lang="en"],code,.mono'));
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent && n.textContent.trim();
      if (text && !skip(n.parentElement)) out.push(text);
    }
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]')) {
      if (skip(el)) continue;
      for (const a of ['aria-label', 'title', 'placeholder']) {
        const v = el.getAttribute(a);
        if (v) out.push(v.trim());
      }
    }
    out.push(document.title);
    return out;
  })()`)) as string[];
}

const englishOnly = (() => {
  const zh = new Set(Object.values(CATALOGS['zh-CN']));
  return new Set(
    Object.values(CATALOGS.en)
      .filter((v) => !zh.has(v) && !/\{\w+\}/.test(v))
      .map((v) => v.trim()),
  );
})();

/** Script bytes a page loaded (its own and the chart library). */
function scriptBytes(page: Page) {
  let bytes = 0;
  page.on('response', async (res) => {
    if (res.request().resourceType() === 'script') bytes += (await res.body().catch(() => Buffer.alloc(0))).length;
  });
  return () => bytes;
}

describe.skipIf(!haveChromium)('the web app in Chromium', () => {
  beforeAll(async () => {
    server = await startWebServer();
    fixture = await seed(server.db);
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    await mkdir(ARTIFACTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('each role signs in, sees its pages in the menu and gets 403 on the others by URL', async () => {
    for (const role of ROLES) {
      const { context, page } = await signIn(role);
      const menu = await page.locator('header nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
      for (const p of ['portfolio', 'inbox', 'followups', 'dispatch', 'kpis', 'scorecards', 'proof', 'admin'] as const) {
        expect(menu.includes(pathOf(p).split('?')[0]!), `${role} menu ${p}`).toBe(may([role], p));
        if (!may([role], p)) {
          const res = await page.goto(server.url + pathOf(p));
          expect(res?.status(), `${role} ${p}`).toBe(403);
          await expect(page.locator('h1').textContent()).resolves.toBe('You do not have access to this page.');
        }
      }
      await context.close();
    }
  });

  it('every page passes axe-core (no serious or critical violation), stays under the script budget, and is screenshotted in both languages; 简体中文 leaves no label untranslated', async () => {
    const pages: AppPage[] = ['portfolio', 'account', 'inbox', 'followups', 'dispatch', 'kpis', 'scorecards', 'proof', 'admin'];
    for (const locale of ['en-US', 'zh-CN']) {
      const { context, page } = await signIn('admin', locale);
      const bytes = scriptBytes(page);
      const lang = locale.startsWith('zh') ? 'zh-CN' : 'en';
      for (const p of pages) {
        const before = bytes();
        const res = await page.goto(server.url + pathOf(p), { waitUntil: 'load' });
        expect(res?.status(), p).toBe(200);
        expect(await page.getAttribute('html', 'lang')).toBe(lang);
        if (p === 'account') await page.locator('.uplot').waitFor({ timeout: 10_000 });
        expect(await axeViolations(page), `${lang} ${p}`).toEqual([]);
        expect(bytes() - before, `${p} script bytes`).toBeLessThan(SCRIPT_BUDGET_BYTES);
        if (lang === 'zh-CN') {
          const untranslated = (await visibleTexts(page)).filter((text) => englishOnly.has(text));
          expect(untranslated, `untranslated on ${p}`).toEqual([]);
        }
        await page.screenshot({ path: join(ARTIFACTS, `${lang}-${p}.png`), fullPage: true });
      }
      await context.close();
    }
    // the sign-in page, both languages
    for (const locale of ['en-US', 'zh-CN']) {
      const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-in`);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${locale.startsWith('zh') ? 'zh-CN' : 'en'}-sign-in.png`) });
      await context.close();
    }
  });

  it('switching the language from the menu keeps the page', async () => {
    const { context, page } = await signIn('manager');
    await page.goto(`${server.url}/kpis`);
    await Promise.all([page.waitForURL('**/kpis'), page.getByRole('link', { name: '简体中文' }).click()]);
    await expect(page.locator('h1').textContent()).resolves.toBe('服务指标');
    await Promise.all([page.waitForURL('**/kpis'), page.getByRole('link', { name: 'English' }).click()]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Service KPIs');
    await context.close();
  });

  it('a retention specialist resolves an alert from the inbox', async () => {
    const alertId = await makeAlert(server.db, fixture.account.id, 'Browser test alert');
    const { context, page } = await signIn('retention');
    await page.goto(`${server.url}/inbox?view=mine`);
    const row = page.locator(`tr[data-alert-id="${alertId}"]`);
    await row.locator('summary').click();
    await row.getByLabel('Outcome').selectOption('false_alarm');
    await row.getByLabel('Note').fill('Seasonal dip');
    await Promise.all([page.waitForURL(/notice=/), row.getByRole('button', { name: 'Resolve' }).click()]);
    await expect(page.locator('.notice').textContent()).resolves.toBe('Alert updated.');
    expect(await page.locator(`tr[data-alert-id="${alertId}"]`).count()).toBe(0);
    const alert = await server.db.selectFrom('alerts').select(['status', 'outcome']).where('id', '=', alertId).executeTakeFirstOrThrow();
    expect(alert).toEqual({ status: 'resolved', outcome: 'false_alarm' });
    await context.close();
  });

  it('a CSM completes and reschedules follow-ups and adds a pulse', async () => {
    const { context, page } = await signIn('csm');
    await page.goto(`${server.url}/follow-ups`);
    const overdue = page.locator(`tr[data-follow-up-id="${fixture.followUps.overdue}"]`);
    await overdue.locator('summary').click();
    await overdue.getByLabel('Notes').fill('Spoke with the admin; training booked');
    await Promise.all([page.waitForURL(/notice=/), overdue.getByRole('button', { name: 'Complete' }).click()]);
    const today = page.locator(`tr[data-follow-up-id="${fixture.followUps.today}"]`);
    await today.locator('summary').click();
    const when = new Date(Date.now() + 4 * 86400e3);
    when.setUTCHours(9, 30, 0, 0);
    await today.getByLabel('New time (UTC)').fill(when.toISOString().slice(0, 16));
    await Promise.all([page.waitForURL(/notice=/), today.getByRole('button', { name: 'Reschedule' }).click()]);
    const rows = await server.db.selectFrom('follow_ups').select(['id', 'status', 'notes', 'due_at']).where('id', 'in', [fixture.followUps.overdue, fixture.followUps.today]).orderBy('id').execute();
    expect(rows[0]).toMatchObject({ status: 'done', notes: 'Spoke with the admin; training booked' });
    // at the time asked for, or the assignee's next working moment after it
    expect(rows[1]!.due_at.getTime()).toBeGreaterThanOrEqual(when.getTime());
    expect(rows[1]!.due_at.getTime()).toBeLessThan(when.getTime() + 4 * 86400e3);

    await page.goto(`${server.url}/accounts/${encodeURIComponent(fixture.account.externalId)}`);
    await page.getByLabel('Adjustment (points)').fill('-5');
    await page.getByLabel('Reason').fill('Budget freeze announced');
    await Promise.all([page.waitForURL(/notice=/), page.getByRole('button', { name: 'Add pulse' }).click()]);
    await expect(page.locator('#score-panel').textContent()).resolves.toContain('Budget freeze announced');
    await context.close();
  });

  it('an analyst previews a scorecard draft', async () => {
    const { context, page } = await signIn('analyst');
    await page.goto(`${server.url}/scorecards`);
    await Promise.all([page.waitForURL(/\/scorecards\/\d+/), page.locator('main table a').first().click()]);
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'What-if preview' }).click()]);
    await expect(page.locator('[data-testid="preview"] h2').textContent()).resolves.toBe('What-if preview');
    await page.screenshot({ path: join(ARTIFACTS, 'en-scorecard-preview.png'), fullPage: true });
    await context.close();
  });

  it('a score change appears on an open account page without reload', async () => {
    const { context, page } = await signIn('csm');
    await page.goto(`${server.url}/accounts/${encodeURIComponent(fixture.account.externalId)}`);
    await page.waitForSelector('body[data-live-ready="1"]', { timeout: 15_000 });
    const before = await page.locator('[data-testid="score"]').textContent();
    // a marker that a reload would lose
    await page.evaluate('window.marker = 42');
    await server.db
      .insertInto('health_pulses')
      .values({ account_id: fixture.account.id, adjustment: 30, reason: 'Live update check', author: 'test', expires_at: new Date(Date.now() + 86400e3) })
      .execute();
    await recompute(server.db, { accountIds: [fixture.account.id] });
    // (waitForFunction would evaluate text in the page, which its Content-Security-Policy forbids)
    await expect.poll(() => page.locator('[data-testid="score"]').textContent(), { timeout: 20_000, interval: 100 }).not.toBe(before);
    expect(await page.evaluate('window.marker')).toBe(42);
    await expect(page.locator('#score-panel').textContent()).resolves.toContain('Live update check');
    await context.close();
  });
});
