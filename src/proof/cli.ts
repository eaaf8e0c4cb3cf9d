import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../lib/errors.js';
import { activeScorecards, createScorecardVersion, ensureDefaultScorecard, findScorecard } from '../scoring/scorecards.js';
import { type BacktestReport, runBacktest } from './backtest.js';
import { fitScorecard } from './fit.js';
import { saveReport } from './reports.js';

type WithDatabase = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

export const PROOF_USAGE = `  backtest [--horizon-days 90] [--scorecard-id N] [--segment S] [--from DAY] [--to DAY]
                                            test a scorecard against renewal outcomes (docs/proof-of-score.md)
  fit [--horizon-days 90] [--segment S] [--from DAY] [--to DAY] [--seed N]
                                            learn a draft scorecard from renewal outcomes`;

const options = {
  'horizon-days': { type: 'string' },
  'scorecard-id': { type: 'string' },
  segment: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  seed: { type: 'string' },
} as const;

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);
const num = (x: number | null) => (x === null ? '—' : x.toFixed(3));

function printReport(report: BacktestReport) {
  console.log(`outcomes ${report.observations} (scored ${report.scored}), churned ${report.accountsChurned} (${pct(report.churnRate)})`);
  console.log(`ROC-AUC ${num(report.rocAuc)} (95 % ${num(report.rocAuc95.low)}–${num(report.rocAuc95.high)}), PR-AUC ${num(report.prAuc)}, lift in the riskiest decile ${num(report.liftTopDecile)}`);
  for (const b of report.bands) console.log(`  ${b.band.padEnd(6)} ${String(b.accounts).padStart(7)} accounts, churn ${pct(b.churnRate)}, ARR ${b.arr} (lost ${b.arrChurned})`);
  console.log(`churners caught: red ${pct(report.caught.red)}, red or yellow ${pct(report.caught.redOrYellow)}`);
  console.log('measure                      AUC     direction                coverage');
  for (const m of report.measures) console.log(`  ${m.key.padEnd(26)} ${num(m.auc).padEnd(7)} ${m.direction.padEnd(24)} ${pct(m.coverage)}`);
}

/** `npm run cli -- backtest|fit`: the same functions as the API, printed for a terminal. */
export async function proofCommand(command: 'backtest' | 'fit', args: string[], withDatabase: WithDatabase, usage: (m: string) => Error) {
  const { values } = parseArgs({ args, options });
  const horizonDays = values['horizon-days'] === undefined ? 90 : Number(values['horizon-days']);
  if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > 730) throw usage('--horizon-days must be a whole number from 1 to 730');
  const segment = values.segment ?? null;
  const window = { horizonDays, from: values.from, to: values.to };
  try {
    await withDatabase(async (db) => {
      if (command === 'backtest') {
        await ensureDefaultScorecard(db);
        const card = values['scorecard-id'] ? await findScorecard(db, Number(values['scorecard-id'])) : (await activeScorecards(db)).find((c) => c.segment === segment);
        if (!card) throw usage('no such scorecard');
        const report = await runBacktest(db, card.definition, window);
        const stored = await saveReport(db, { kind: 'backtest', scorecardId: card.id, definition: card.definition, options: window, report });
        console.log(`backtest ${stored.id} of scorecard ${card.id} (version ${card.version}), each account ${horizonDays} days before its outcome`);
        printReport(report);
        return;
      }
      const seed = values.seed === undefined ? undefined : Number(values.seed);
      const fitted = await fitScorecard(db, { ...window, seed });
      const card = await inTransaction(db, async (trx) => {
        const created = await createScorecardVersion(trx, segment, fitted.definition);
        await saveReport(trx, { kind: 'fit', scorecardId: created.id, definition: fitted.definition, options: { ...window, segment, seed }, report: { fit: fitted.result, backtest: fitted.backtest } });
        return created;
      });
      const cv = fitted.result.validation.crossValidatedAuc;
      console.log(`fitted scorecard ${card.id} (version ${card.version}, inactive): cross-validated ROC-AUC ${num(cv.mean)} ± ${num(cv.sd)}, time split ${num(fitted.result.validation.temporal.testAuc)}`);
      for (const m of fitted.result.measures) console.log(`  ${m.key.padEnd(26)} weight ${m.weight.toFixed(2).padStart(6)}  ${m.direction}`);
      for (const d of fitted.result.dropped) console.log(`  dropped ${d.key}: ${d.reason}`);
      console.log(`activate it with POST /v1/scorecards/${card.id}/activate`);
    });
  } catch (err) {
    if (err instanceof DomainError) throw usage(err.detail);
    throw err;
  }
}
