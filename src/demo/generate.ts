import type { Kysely } from 'kysely';
import { upsertAccounts } from '../accounts/repository.js';
import type { UpsertOutcome } from '../accounts/schemas.js';
import type { Database } from '../db/schema.js';
import { type BatchResult, ingestBatch, type SignalName, SIGNALS } from '../signals/ingest.js';
import type { ItemOutcome } from '../signals/schemas.js';
import { MAX_SIGNAL_BATCH } from '../signals/schemas.js';
import { companyNames, profile } from './portfolio.js';
import { isoDay } from './random.js';
import { ticketsAndSurveys, usageEvents } from './signals.js';

export { DEMO_DAYS } from './portfolio.js';
export { isoDay } from './random.js';

/**
 * A generated portfolio for demos and local development that tells the
 * truth: two years of usage, tickets, surveys and contracts with their
 * renewal outcomes, all drawn from one latent health per account
 * (src/demo/latent.ts), so a backtest has outcomes with signals before them
 * and a fit has enough of both kinds to learn from. Everything is derived
 * from the seed, the account's number and the as-of day, so a re-run writes
 * nothing new; it all goes through upsertAccounts and ingestBatch like real
 * data.
 */

// ---------------------------------------------------------------- writing

export type Counts = Record<ItemOutcome, number>;

export interface DemoOptions {
  accounts?: number;
  seed?: number;
  /** The day the data ends (exclusive), YYYY-MM-DD; default today (UTC). */
  asOf?: string;
  batchSize?: number;
  onProgress?(kind: SignalName | 'accounts', counts: Counts): void;
}

export interface DemoResult {
  asOf: string;
  accounts: Record<UpsertOutcome, number>;
  signals: Record<Exclude<SignalName, 'outcomes'>, Counts>;
  /** The first few items refused (should be none: a bug in the generator). */
  errors: string[];
}

const emptyCounts = (): Counts => ({ created: 0, updated: 0, unchanged: 0, stale: 0, error: 0 });

/** Batches items of one kind into ingestBatch calls. */
class Sink {
  private items: unknown[] = [];
  readonly counts = emptyCounts();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: SignalName,
    private readonly batchSize: number,
    private readonly errors: string[],
    private readonly onProgress?: DemoOptions['onProgress'],
  ) {}

  async add(item: unknown) {
    this.items.push(item);
    if (this.items.length >= this.batchSize) await this.flush();
  }

  async flush() {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    const result: BatchResult = await ingestBatch(this.db, SIGNALS[this.kind] as (typeof SIGNALS)['usage'], items);
    for (const [k, v] of Object.entries(result.summary)) this.counts[k as ItemOutcome] += v;
    for (const r of result.results) {
      if (r.result === 'error' && this.errors.length < 10) this.errors.push(`${this.kind} ${r.id}: ${r.errors?.map((e) => `${e.field} ${e.message}`).join('; ')}`);
    }
    this.onProgress?.(this.kind, { ...this.counts });
  }
}

export const DEFAULT_DEMO_ACCOUNTS = 600;

export async function generateDemo(db: Kysely<Database>, options: DemoOptions = {}): Promise<DemoResult> {
  const n = options.accounts ?? DEFAULT_DEMO_ACCOUNTS;
  const seed = options.seed ?? 1;
  const asOfDay = options.asOf ?? isoDay(Date.now());
  const asOf = Date.parse(`${asOfDay}T00:00:00Z`);
  const batchSize = options.batchSize ?? MAX_SIGNAL_BATCH;
  const names = companyNames(seed);
  const profiles = Array.from({ length: n }, (_, i) => profile(seed, i, names, asOf));
  const errors: string[] = [];

  const accounts: Record<UpsertOutcome, number> = { created: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < profiles.length; i += 1000) {
    const outcomes = await upsertAccounts(db, profiles.slice(i, i + 1000).map((p) => p.input));
    for (const o of outcomes.values()) accounts[o] += 1;
  }
  options.onProgress?.('accounts', { ...emptyCounts(), ...accounts });

  const sink = (kind: SignalName) => new Sink(db, kind, batchSize, errors, options.onProgress);
  const contracts = sink('contracts');
  for (const p of profiles) for (const c of p.contracts) await contracts.add(c);
  await contracts.flush();

  const tickets = sink('tickets');
  const surveys = sink('surveys');
  for (const p of profiles) {
    const generated = ticketsAndSurveys(p, seed, asOf);
    for (const t of generated.tickets) await tickets.add(t);
    for (const s of generated.surveys) await surveys.add(s);
  }
  await tickets.flush();
  await surveys.flush();

  const usage = sink('usage');
  for (const p of profiles) for (const e of usageEvents(p, seed, asOf)) await usage.add(e);
  await usage.flush();

  return {
    asOf: asOfDay,
    accounts,
    signals: { usage: usage.counts, tickets: tickets.counts, surveys: surveys.counts, contracts: contracts.counts },
    errors,
  };
}
