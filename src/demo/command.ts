import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.js';
import { createDemoPeople, signInInstructions } from '../people/demo.js';
import { backfillHistory } from '../scoring/backfill.js';
import { type Counts, DEFAULT_DEMO_ACCOUNTS, DEMO_DAYS, type DemoOptions, generateDemo, isoDay } from './generate.js';
import { settleDemo } from './settle.js';

/** The options of `demo`, checked the same way from the command line and from the local admin endpoint. */
export const demoOptionsSchema = z
  .object({
    accounts: z.number().int().min(1).max(100_000).default(DEFAULT_DEMO_ACCOUNTS),
    seed: z.number().int().min(0).default(1),
    asOf: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .refine((d) => !Number.isNaN(Date.parse(d)) && d <= isoDay(Date.now()), 'must be a date no later than today')
      .optional(),
    /** Backfill the score history as of past days (the longest step of a small demo). */
    history: z.boolean().default(true),
  })
  .strict();
export type DemoRunOptions = z.output<typeof demoOptionsSchema>;

export const DEMO_USAGE = 'demo [--accounts N] [--seed S] [--as-of YYYY-MM-DD] [--no-history]';

/** `demo`'s arguments; a message naming the bad option otherwise. */
export function parseDemoArgs(args: string[]): DemoRunOptions {
  const { values } = parseArgs({ args, options: { accounts: { type: 'string' }, seed: { type: 'string' }, 'as-of': { type: 'string' }, 'no-history': { type: 'boolean' } } });
  const accounts = values.accounts === undefined ? DEFAULT_DEMO_ACCOUNTS : Number(values.accounts);
  if (!Number.isInteger(accounts) || accounts < 1 || accounts > 100_000) throw new Error('--accounts must be an integer from 1 to 100000');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
  const parsed = demoOptionsSchema.safeParse({ accounts, seed, asOf: values['as-of'], history: !values['no-history'] });
  if (!parsed.success) throw new Error('--as-of must be a date (YYYY-MM-DD) no later than today');
  return parsed.data;
}

/** The portfolio, the web app's team and what the jobs would do next (src/demo/settle.ts), on one database. */
export async function runDemo(db: Kysely<Database>, options: DemoRunOptions, onProgress?: DemoOptions['onProgress']) {
  const started = Date.now();
  const { history: withHistory, ...generate } = options;
  const result = await generateDemo(db, { ...generate, onProgress });
  // The web app's team: one person per role (src/people/demo.ts).
  const team = await createDemoPeople(db);
  // Scores, alerts and follow-ups now, not at the next runs of the jobs.
  const settled = await settleDemo(db);
  // Score history as of past days (daily for 90 days, then weekly to a year), so trends and charts work at once.
  const history = withHistory ? await backfillHistory(db, { now: new Date(`${result.asOf}T00:00:00Z`) }) : null;
  return { options, result, team, settled, history, seconds: (Date.now() - started) / 1000 };
}
export type DemoRun = Awaited<ReturnType<typeof runDemo>>;

const line = (label: string, c: Partial<Counts>) =>
  `  ${label.padEnd(14)} ${Object.entries(c)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')}`;

/** What `demo` prints; throws when the generator produced invalid items. */
export function printDemoRun({ options, result, team, settled, history, seconds }: DemoRun): void {
  console.log(`demo portfolio: ${options.accounts} accounts, seed ${options.seed}, ${DEMO_DAYS} days up to ${result.asOf}`);
  console.log(line('accounts', result.accounts));
  console.log(line('contracts', result.signals.contracts));
  console.log(line('tickets', result.signals.tickets));
  console.log(line('surveys', result.signals.surveys));
  console.log(line('usage events', result.signals.usage));
  console.log(`  settled        ${settled.accountsScored} accounts scored, ${settled.openAlerts} churn alerts open, ${settled.followUps.created} follow-ups planned, ${settled.teamMembers} owners added to the team`);
  if (history) console.log(`  history        ${history.instants} past days scored (${history.from ?? '—'} to ${history.to ?? '—'}), ${history.snapshots} snapshots, ${history.bandChanges} band changes`);
  console.log(`done in ${seconds.toFixed(1)} s`);
  console.log(signInInstructions(team));
  if (result.errors.length > 0) throw new Error(`the generator produced invalid items:\n  ${result.errors.join('\n  ')}`);
}

/** Items written of one kind so far. */
export const writtenOf = (c: Counts) => c.created + c.updated + c.unchanged + c.stale + c.error;
