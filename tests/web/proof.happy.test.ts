import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGS } from '../../src/i18n/index.js';
import { previewScorecard } from '../../src/scoring/preview.js';
import { activateScorecard, activeScorecards, listScorecards } from '../../src/scoring/scorecards.js';
import { measuresOf } from '../../src/scoring/scorecard.js';
import { ROOT } from '../support/process.js';
import { emailOf, PASSWORD, seed, startWebServer, type WebServer } from './support.js';

/**
 * #18, the proof pages in Chromium, in English and 简体中文: an analyst runs a
 * backtest and reads it with its pictures, runs a fit and reads kept and
 * dropped measures and the comparison with the active scorecard, edits a
 * scorecard by its fields, compares two versions and activates one after a
 * confirmation that says what changes; a manager reads the reports.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`tests/web/proof.happy.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

const ARTIFACTS = join(ROOT, 'test-artifacts', 'web');
const LOCALES = [
  { locale: 'en-US', lang: 'en' as const },
  { locale: 'zh-CN', lang: 'zh-CN' as const },
];

let server: WebServer;
let browser: Browser;
let axeSource: string;

async function signIn(role: 'analyst' | 'manager', locale: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel(locale.startsWith('zh') ? '邮箱' : 'Email').fill(emailOf(role));
  await page.getByLabel(locale.startsWith('zh') ? '密码' : 'Password').fill(PASSWORD);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/sign-in')), page.locator('form[action="/sign-in"] button[type=submit]').click()]);
  return { context, page };
}

async function axeViolations(page: Page) {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(`window.axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const text = (lang: 'en' | 'zh-CN', key: keyof (typeof CATALOGS)['en']) => CATALOGS[lang][key];

/**
 * Renewal outcomes for the seeded portfolio, so a fit has enough of both kinds:
 * each account renews or churns at six past dates, churning where its latest
 * score is in the lower half (a label the signals can explain).
 */
async function seedOutcomes() {
  const scored = await server.db.selectFrom('health_scores').select(['account_id', 'score']).where('score', 'is not', null).orderBy('score').execute();
  const cut = scored[Math.floor(scored.length / 2)]!.score!;
  const rows = scored.flatMap((s) =>
    [150, 180, 210, 240, 270, 300].map((daysAgo) => ({
      account_id: s.account_id,
      outcome_key: `proof-test-${daysAgo}`,
      kind: s.score! < cut ? 'churned' : 'renewed',
      occurred_on: new Date(Date.now() - daysAgo * 86400e3).toISOString().slice(0, 10),
      source: 'import',
    })),
  );
  await server.db.insertInto('outcomes').values(rows).onConflict((oc) => oc.doNothing()).execute();
}

describe.skipIf(!haveChromium)('proof pages in Chromium', () => {
  beforeAll(async () => {
    server = await startWebServer();
    await seed(server.db);
    await seedOutcomes();
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    await mkdir(ARTIFACTS, { recursive: true });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const { locale, lang } of LOCALES) {
    it(`${lang}: an analyst runs a backtest and reads its report with pictures`, { timeout: 120_000 }, async () => {
      const { context, page } = await signIn('analyst', locale);
      await page.goto(`${server.url}/proof`);
      expect(await axeViolations(page), `${lang} proof`).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${lang}-proof.png`), fullPage: true });
      const run = page.locator('form[action="/proof/backtests"]');
      await run.getByLabel(text(lang, 'proof.horizonLabel')).fill('60');
      await Promise.all([page.waitForURL(/\/proof\/reports\/\d+\?notice=/), run.getByRole('button', { name: text(lang, 'proof.runBacktestButton') }).click()]);
      await expect(page.locator('.notice').first().textContent()).resolves.toBe(text(lang, 'notice.backtestDone'));
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      // the pictures: inline SVG, drawn from the stored report
      for (const kind of ['roc', 'calibration', 'bars', 'measure-auc']) expect(await page.locator(`svg[data-chart-kind="${kind}"]`).count(), kind).toBeGreaterThan(0);
      expect(await page.locator('svg[data-chart-kind="roc"] polyline').getAttribute('points')).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+){2,}/);
      const id = Number(/\/proof\/reports\/(\d+)/.exec(page.url())![1]);
      const stored = await server.db.selectFrom('scorecard_reports').select(['kind', 'options', 'report']).where('id', '=', id).executeTakeFirstOrThrow();
      expect(stored.kind).toBe('backtest');
      expect(stored.options).toMatchObject({ horizonDays: 60 });
      const report = stored.report as { rocAuc: number | null; deciles: unknown[]; roc: unknown[] };
      expect(await page.locator('[data-testid="roc-auc"]').first().textContent()).toBe(report.rocAuc === null ? '—' : report.rocAuc.toFixed(3));
      expect(report.deciles.length).toBe(10);
      expect(await axeViolations(page), `${lang} backtest report`).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${lang}-proof-backtest.png`), fullPage: true });
      await context.close();
    });

    it(`${lang}: an analyst fits a draft and reads kept and dropped measures and the comparison with the active scorecard`, { timeout: 180_000 }, async () => {
      const { context, page } = await signIn('analyst', locale);
      const before = (await listScorecards(server.db)).length;
      await page.goto(`${server.url}/proof`);
      const fit = page.locator('form[action="/proof/fits"]');
      await Promise.all([page.waitForURL(/\/proof\/reports\/\d+\?notice=/, { timeout: 150_000 }), fit.getByRole('button', { name: text(lang, 'proof.runFitButton') }).click()]);
      await expect(page.locator('.notice').first().textContent()).resolves.toBe(text(lang, 'notice.fitDone'));
      expect((await listScorecards(server.db)).length).toBe(before + 1);
      expect(await page.locator('[data-testid="kept-measures"] tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-testid="fit-comparison"] tbody tr').count()).toBeGreaterThan(3);
      expect(await page.locator('[data-testid="cv-auc"]').textContent()).toMatch(/^0\.\d{3}$/);
      expect(await page.locator('svg[data-chart-kind="roc"]').count()).toBeGreaterThan(0);
      expect(await axeViolations(page), `${lang} fit report`).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${lang}-proof-fit.png`), fullPage: true });
      await context.close();
    });

    it(`${lang}: an analyst edits a scorecard by its fields, compares two versions and activates one after seeing what changes`, { timeout: 120_000 }, async () => {
      const { context, page } = await signIn('analyst', locale);
      const active = (await activeScorecards(server.db)).find((c) => c.segment === null)!;
      const measures = measuresOf(active.definition);
      const first = measures[0]!;
      await page.goto(`${server.url}/scorecards/${active.id}`);
      const editor = page.locator('[data-testid="field-editor"]');
      const row = editor.locator(`tr[data-measure="${first.key}"]`);
      await row.locator('input[name="weight.0"]').fill(String(first.weight + 7));
      const direction = row.locator('select[name="direction.0"]');
      const was = await direction.inputValue();
      await direction.selectOption(was === 'higher' ? 'lower' : 'higher');
      // leave the second measure out
      await editor.locator('input[name="keep.1"]').uncheck();
      await Promise.all([page.waitForLoadState('load'), editor.getByRole('button', { name: text(lang, 'scorecards.preview') }).click()]);
      await expect(page.locator('[data-testid="preview"] h2').textContent()).resolves.toBe(text(lang, 'scorecards.previewTitle'));
      expect(await axeViolations(page), `${lang} scorecard editor`).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${lang}-scorecard-editor.png`), fullPage: true });
      await Promise.all([page.waitForURL(/\/scorecards\/\d+\?notice=/), page.locator('[data-testid="field-editor"]').getByRole('button', { name: text(lang, 'scorecards.saveDraft') }).click()]);
      const draftId = Number(/\/scorecards\/(\d+)/.exec(page.url())![1]);
      const draft = (await listScorecards(server.db)).find((c) => c.id === draftId)!;
      const saved = measuresOf(draft.definition);
      expect(saved.length).toBe(measures.length - 1);
      expect(saved.find((m) => m.key === measures[1]!.key)).toBeUndefined();
      const edited = saved.find((m) => m.key === first.key)!;
      expect(edited.weight).toBe(first.weight + 7);
      // turned round: the same raw points, the scores reversed
      const scoresOf = (m: typeof first) => (m.mapping.type === 'linear' ? m.mapping.points.map((p) => p[1]) : m.mapping.type === 'bands' ? m.mapping.bands.map((b) => b.score) : []);
      expect(scoresOf(edited)).toEqual([...scoresOf(first)].reverse());

      await page.goto(`${server.url}/scorecards/compare?a=${active.id}&b=${draftId}`);
      const compare = page.locator('[data-testid="compare"]');
      expect(await compare.locator('tr.changed').count()).toBeGreaterThanOrEqual(2);
      expect(await axeViolations(page), `${lang} compare`).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${lang}-scorecard-compare.png`), fullPage: true });

      await page.goto(`${server.url}/scorecards/${draftId}`);
      await Promise.all([page.waitForURL(/\/activate$/), page.getByRole('link', { name: text(lang, 'scorecards.activate') }).click()]);
      const summary = await page.locator('[data-testid="activation-summary"]').textContent();
      const expected = await previewScorecard(server.db, null, draft.definition);
      expect(summary).toBe(text(lang, 'activate.summary').replace('{changes}', String(expected.bandChanges.total)).replace('{accounts}', String(expected.accounts)));
      expect(await axeViolations(page), `${lang} activation`).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `${lang}-scorecard-activate.png`), fullPage: true });
      expect((await activeScorecards(server.db)).find((c) => c.segment === null)!.id).toBe(active.id);
      await Promise.all([page.waitForURL(/notice=/), page.locator('[data-testid="activation"] button[type=submit]').click()]);
      expect((await activeScorecards(server.db)).find((c) => c.segment === null)!.id).toBe(draftId);
      // put the first version back for the next language
      await server.db.transaction().execute((trx) => activateScorecard(trx, active.id));
      await context.close();
    });

    it(`${lang}: a manager reads the reports but is not offered a fit`, { timeout: 60_000 }, async () => {
      const { context, page } = await signIn('manager', locale);
      const menu = await page.locator('header nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
      expect(menu).toContain('/proof');
      expect(menu).not.toContain('/scorecards');
      await page.goto(`${server.url}/proof`);
      expect(await page.locator('form[action="/proof/fits"]').count()).toBe(0);
      await Promise.all([page.waitForURL(/\/proof\/reports\/\d+$/), page.locator('[data-testid="reports"] a').first().click()]);
      expect(await page.locator('svg.chart').count()).toBeGreaterThan(0);
      expect(await axeViolations(page), `${lang} manager report`).toEqual([]);
      await context.close();
    });
  }
});
