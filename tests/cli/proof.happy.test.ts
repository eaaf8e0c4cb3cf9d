import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePortfolio, loadPortfolioInto } from '../support/churn-portfolio.js';
import { type CliDatabase, createCliDatabase } from './cli-database.js';

let cli: CliDatabase;
beforeAll(async () => {
  cli = await createCliDatabase();
  await cli.query((db) => loadPortfolioInto(db, generatePortfolio({ accounts: 400, seed: 5, prefix: 'cli' })));
});
afterAll(() => cli?.close());

describe('npm run cli -- backtest / fit', () => {
  it('backtests the active scorecard and prints the report', async () => {
    const run = await cli.cli('backtest', '--horizon-days', '90');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/outcomes 400 \(scored 400\), churned \d+/);
    expect(run.output).toMatch(/ROC-AUC 0\.\d{3} \(95 % 0\.\d{3}–0\.\d{3}\)/);
    expect(run.output).toMatch(/red +\d+ accounts, churn/);
  });

  it('fits a draft scorecard, saved inactive, and says how to activate it', async () => {
    const run = await cli.cli('fit', '--seed', '3');
    expect(run.code, run.output).toBe(0);
    const id = /fitted scorecard (\d+) \(version \d+, inactive\)/.exec(run.output)?.[1];
    expect(id).toBeDefined();
    expect(run.output).toContain(`POST /v1/scorecards/${id}/activate`);
    const card = await cli.query((db) => db.selectFrom('scorecards').selectAll().where('id', '=', Number(id)).executeTakeFirstOrThrow());
    expect(card.active).toBe(false);
    expect(await cli.query((db) => db.selectFrom('scorecard_reports').select('kind').where('scorecard_id', '=', Number(id)).execute())).toEqual([{ kind: 'fit' }]);
  });

  it('refuses a fit with too few outcomes, naming the shortfall', async () => {
    const run = await cli.cli('fit', '--from', '2100-01-01');
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('at least 50 churned and 50 retained outcomes; there are 0 churned and 0 retained');
  });
});
