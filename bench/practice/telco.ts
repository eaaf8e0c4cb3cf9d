/**
 * Practice: IBM's public telco churn sample (kept outside this repository,
 * see ../shared/practice/README.md) mapped onto healthscore's signals and fed
 * in through the public API, then a backtest of the shipped default and a fit
 * (cross-validated AUC beside the README's logistic-regression reference).
 *
 *   npm run practice -- ../shared/practice/telco-customer-churn.csv
 *
 * Embedded database in memory, or PRACTICE_DATABASE_URL for a PostgreSQL
 * server (a scratch database: the script fills it); PRACTICE_REPORT=FILE
 * writes the default scorecard's backtest report there. docs/proof-of-score.md
 * explains the mapping and how to read the output.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { createApp } from '../../src/app.js';
import { createApiKey } from '../../src/auth/repository.js';
import { createEmbeddedDb } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/node.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { createLogger } from '../../src/logger.js';
import { rocAuc } from '../../src/scoring/learn/metrics.js';

const DAY = 86_400_000;
const MONTH = 30.4375 * DAY;
/** The latest outcome date; outcomes spread over the 180 days before it (row order), so the time split has a past and a future. */
const LATEST_OUTCOME = Date.UTC(2026, 9, 1);
const HORIZON_DAYS = 90;
const SERVICES = ['PhoneService', 'MultipleLines', 'OnlineSecurity', 'OnlineBackup', 'DeviceProtection', 'TechSupport', 'StreamingTV', 'StreamingMovies'] as const;
const AUTOMATIC_PAYMENT = /automatic/i;
const CONTRACT_MONTHS: Record<string, number> = { 'Month-to-month': 4, 'One year': 12, 'Two year': 24 };

type Row = Record<string, string>;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/** One customer's signals, as of the instant it is judged (T = outcome − 90 days) and before. */
export function mapCustomer(row: Row, index: number) {
  const id = row.customerID!;
  const outcome = LATEST_OUTCOME - (index % 180) * DAY;
  const at = outcome - HORIZON_DAYS * DAY;
  const tenure = Number(row.tenure);
  const monthly = Number(row.MonthlyCharges);
  const churned = row.Churn === 'Yes';
  const currentMonths = CONTRACT_MONTHS[row.Contract!]!;
  const currentStart = outcome - currentMonths * MONTH;
  const firstStart = Math.min(currentStart, at - tenure * MONTH);
  const contracts = [
    {
      contractId: `${id}-current`,
      account: id,
      startDate: isoDay(currentStart),
      endDate: isoDay(outcome),
      arr: Math.round(monthly * 1200) / 100,
      autoRenew: AUTOMATIC_PAYMENT.test(row.PaymentMethod!),
      status: churned ? 'churned' : 'renewed',
    },
  ];
  // Earlier months as a customer: a contract before the current one, sent without an outcome of its own.
  if (firstStart < currentStart - DAY) {
    contracts.push({ contractId: `${id}-earlier`, account: id, startDate: isoDay(firstStart), endDate: isoDay(currentStart - DAY), arr: Math.round(monthly * 1200) / 100, autoRenew: AUTOMATIC_PAYMENT.test(row.PaymentMethod!), status: 'active' });
  }
  // Usage: each subscribed service is a metric used weekly (since the customer joined); fibre carries more quantity.
  const services = SERVICES.filter((s) => row[s] === 'Yes').map((s) => s.toLowerCase());
  if (row.InternetService !== 'No') services.push(`internet-${row.InternetService!.toLowerCase().replace(/\s+/g, '-')}`);
  const usage = [];
  // Weekly from 16 weeks before T up to the outcome: a customer uses what it pays for until it leaves.
  for (let week = -12; week <= 16; week++) {
    const t = at - week * 7 * DAY + 12 * 3600_000;
    if (t >= outcome) continue;
    if (t < firstStart) break;
    for (const metric of services) {
      usage.push({ eventId: `${id}-${metric}-${week}`, account: id, occurredAt: new Date(t).toISOString(), metric, quantity: metric === 'internet-fiber-optic' ? 10 : 1, userId: `${id}-user` });
    }
  }
  const account = { externalId: id, name: id, segment: row.SeniorCitizen === '1' ? 'senior' : 'standard', seats: 1, arr: monthly * 12, attributes: { paperless: row.PaperlessBilling, payment: row.PaymentMethod } };
  return { account, contracts, usage };
}

type Call = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

/** Scores every customer whose outcome is on or after `split` as of its outcome date, through the API, and ranks churn. */
async function heldOutAuc(call: Call, rows: Row[], split: string) {
  const risk: number[] = [];
  const churned: boolean[] = [];
  const bands: string[] = [];
  for (const [i, row] of rows.entries()) {
    const outcome = isoDay(LATEST_OUTCOME - (i % 180) * DAY);
    if (outcome < split) continue;
    const h = (await call('GET', `/v1/accounts/${row.customerID}/health?as_of=${outcome}T00:00:00Z`)) as { score: number | null; band: string | null };
    if (h.score === null) continue;
    risk.push(-h.score);
    churned.push(row.Churn === 'Yes');
    bands.push(h.band ?? '');
  }
  const rate = (band: string) => {
    const idx = bands.flatMap((b, i) => (b === band ? [i] : []));
    return idx.filter((i) => churned[i]).length / idx.length;
  };
  return { auc: rocAuc(risk, churned), redVsGreen: rate('red') / rate('green') };
}

async function main(file: string) {
  const rows = parse(await readFile(file), { columns: true, skip_empty_lines: true }) as Row[];
  const url = process.env.PRACTICE_DATABASE_URL;
  const database = url ? createPostgresDb({ url, max: 4 }) : await createEmbeddedDb();
  try {
    await migrate(database.db);
    const { key } = await createApiKey(database.db, 'practice', ['admin']);
    const app = createApp({ database: () => database.db, logger: createLogger('error') });
    const call: Call = async (method, path, body) => {
      const res = await app.request(path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const mapped = rows.map(mapCustomer);
    const send = async (path: string, items: unknown[], size: number) => {
      for (let i = 0; i < items.length; i += size) {
        const result = (await call('POST', path, { items: items.slice(i, i + size) })) as { summary: { error: number } };
        if (result.summary.error) throw new Error(`${path}: ${result.summary.error} items refused`);
      }
    };
    const started = Date.now();
    await send('/v1/accounts/batch', mapped.map((m) => m.account), 1000);
    await send('/v1/contracts/batch', mapped.flatMap((m) => m.contracts), 5000);
    await send('/v1/usage/batch', mapped.flatMap((m) => m.usage), 5000);
    console.log(`fed ${rows.length} customers through the API in ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const round = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : String(x));
    const baseline = (await call('POST', '/v1/scorecards/backtest', { horizonDays: HORIZON_DAYS })) as { report: Record<string, unknown> };
    console.log(`default scorecard: backtest ROC-AUC ${round(baseline.report.rocAuc)} over ${baseline.report.scored} outcomes`);
    // PRACTICE_REPORT=FILE keeps the default scorecard's whole backtest report (docs/proof-of-score.md shows one).
    if (process.env.PRACTICE_REPORT) await writeFile(process.env.PRACTICE_REPORT, `${JSON.stringify(baseline.report, null, 2)}\n`);
    const fit = (await call('POST', '/v1/scorecards/fit', { horizonDays: HORIZON_DAYS, seed: 1 })) as {
      fit: { validation: { crossValidatedAuc: { mean: number; sd: number }; temporal: { testAuc: number }; references: { logisticRegression: { mean: number }; boostedTrees: { mean: number } } | null }; measures: { key: string; weight: number; direction: string | null; with: string | null; monotone: boolean; auc: number }[]; dropped: { key: string; reason: string }[]; references: { logisticRegression: { mean: number }; boostedTrees: { mean: number } } | null };
      backtest: { rocAuc: number; bands: { band: string; churnRate: number | null; accounts: number }[] };
    };
    const cv = fit.fit.validation.crossValidatedAuc;
    console.log(`fitted scorecard: 5-fold cross-validated ROC-AUC ${round(cv.mean)} ± ${round(cv.sd)} (reference: logistic regression on all columns 0.845 ± 0.006)`);
    const refs = fit.fit.validation.references;
    if (refs) console.log(`references on the same folds: logistic regression ${round(refs.logisticRegression.mean)}, boosted trees ${round(refs.boostedTrees.mean)}`);
    console.log(`fitted scorecard: time split (later 20 % of outcomes) ROC-AUC ${round(fit.fit.validation.temporal.testAuc)}; in-sample backtest ${round(fit.backtest.rocAuc)}`);
    console.log('bands of the fitted scorecard:', fit.backtest.bands.map((b) => `${b.band} ${b.accounts} (churn ${round(b.churnRate)})`).join(', '));
    console.log('measures:');
    for (const m of fit.fit.measures) console.log(`  ${m.key.padEnd(26)} weight ${m.weight.toFixed(2).padStart(6)}  ${(m.direction === null ? `× ${m.with}` : `${m.direction}${m.monotone ? '' : ' ~'}`).padEnd(26)} AUC alone ${round(m.auc)}`);
    for (const d of fit.fit.dropped) console.log(`  dropped ${d.key}: ${d.reason}`);

    // As a held-out evaluation through the API would: fit on the earlier 70 % of outcomes, activate,
    // then score each later account as of its outcome date with GET /health?as_of= and rank.
    const days = mapped.map((_, i) => isoDay(LATEST_OUTCOME - (i % 180) * DAY)).sort();
    const split = days[Math.floor(days.length * 0.7)]!;
    const defaultHeldOut = await heldOutAuc(call, rows, split);
    const trained = (await call('POST', '/v1/scorecards/fit', { horizonDays: HORIZON_DAYS, to: isoDay(Date.parse(split) - DAY), seed: 1 })) as { scorecard: { id: number } };
    await call('POST', `/v1/scorecards/${trained.scorecard.id}/activate`);
    const fittedHeldOut = await heldOutAuc(call, rows, split);
    console.log(`held out (outcomes from ${split}, scored as of their outcome date through GET /health?as_of=): default ROC-AUC ${round(defaultHeldOut.auc)}, fitted on the earlier 70 % ${round(fittedHeldOut.auc)}; fitted red/green churn rate ${round(fittedHeldOut.redVsGreen)}`);
  } finally {
    await database.close();
  }
}

const file = process.argv[2];
if (!file) {
  console.error('usage: npm run practice -- PATH/TO/telco-customer-churn.csv');
  process.exit(2);
}
await main(file);
