import { mulberry32 } from '../../src/scoring/learn/folds.js';
import { sigmoid } from '../../src/scoring/learn/logistic.js';
import type { Kysely } from 'kysely';
import { createApp } from '../../src/app.js';
import { createApiKey } from '../../src/auth/repository.js';
import type { Database } from '../../src/db/schema.js';
import { createLogger } from '../../src/logger.js';
import type { TestServer } from './server.js';

/**
 * A generated portfolio with a known latent churn propensity, fed through the
 * public API like a customer's history: each account has a contract that
 * ends on its outcome date (renewed or churned), and in the months before
 * it usage (which may decline in the last 30 days), complaint tickets and
 * (for most accounts) an NPS answer. Churn is drawn from the latent log-odds,
 * so the best AUC any score can reach is that of the log-odds themselves.
 *
 * The drivers, all observable as of 90 days before the outcome:
 *  - usage decline d: the last 30 days have (1 − d) of the usual active days;
 *  - complaints k: complaint tickets in the 90 days before;
 *  - detractor: the NPS answer is 6 or less (20 % of accounts never answer);
 *  - contract length: 6, 12 or 24 months (shorter: riskier).
 * Noise: how much quantity each event carries, and the number of features used.
 */
export interface GeneratedAccount {
  externalId: string;
  outcomeDate: string;
  churned: boolean;
  /** The true log-odds of churning. */
  logit: number;
  drivers: { decline: number; complaints: number; detractor: boolean | null; contractMonths: number };
}

export const HORIZON_DAYS = 90;
const DAY = 86_400_000;

export interface PortfolioOptions {
  accounts: number;
  seed: number;
  /** The latest outcome date (default: 5 days ago). */
  until?: Date;
  /** Outcome dates spread over this many days before `until` (default 360). */
  spreadDays?: number;
  prefix?: string;
}

export interface GeneratedPortfolio {
  accounts: GeneratedAccount[];
  items: {
    accounts: unknown[];
    usage: unknown[];
    tickets: unknown[];
    surveys: unknown[];
    contracts: unknown[];
  };
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const iso = (t: number) => new Date(t).toISOString();

export function generatePortfolio(options: PortfolioOptions): GeneratedPortfolio {
  const random = mulberry32(options.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const until = Math.floor((options.until?.getTime() ?? Date.now() - 5 * DAY) / DAY) * DAY;
  const spread = options.spreadDays ?? 360;
  const prefix = options.prefix ?? 'gen';
  const out: GeneratedPortfolio = { accounts: [], items: { accounts: [], usage: [], tickets: [], surveys: [], contracts: [] } };

  for (let i = 0; i < options.accounts; i++) {
    const externalId = `${prefix}-${String(i).padStart(5, '0')}`;
    const outcome = until - Math.floor(random() * spread) * DAY;
    const at = outcome - HORIZON_DAYS * DAY; // the instant the account is judged
    const decline = pick([0, 0, 0.25, 0.5, 0.75, 1]);
    const complaints = pick([0, 0, 0, 1, 1, 2, 3]);
    const answers = random() < 0.8;
    const nps = answers ? Math.floor(random() * 11) : null;
    const detractor = nps === null ? null : nps <= 6;
    const contractMonths = pick([6, 12, 24]);
    const logit =
      -2.6 + 2.4 * decline + 0.7 * complaints + (detractor ? 1.1 : 0) + (contractMonths === 6 ? 0.9 : contractMonths === 24 ? -0.6 : 0);
    const churned = random() < sigmoid(logit);
    out.accounts.push({ externalId, outcomeDate: isoDay(outcome), churned, logit, drivers: { decline, complaints, detractor, contractMonths } });

    out.items.accounts.push({ externalId, name: `Generated ${i}`, segment: pick(['smb', 'mid']), seats: 5, arr: 12_000 });
    // Usage: active every day of the 90 days before the last 30, then on (1 − d) of the last 30.
    const lastActive = Math.round(30 * (1 - decline));
    const quantity = 1 + Math.floor(random() * 20); // noise: quantity per event says nothing
    for (let day = 120; day >= 1; day--) {
      if (day <= 30 && 30 - day >= lastActive) continue;
      out.items.usage.push({
        eventId: `${externalId}-u${day}`,
        account: externalId,
        occurredAt: iso(at - day * DAY + 10 * 3600_000),
        metric: `feature-${day % (1 + Math.floor(random() * 4))}`,
        quantity,
        userId: `user-${day % 3}`,
      });
    }
    for (let k = 0; k < complaints; k++) {
      const opened = at - (10 + Math.floor(random() * 70)) * DAY;
      out.items.tickets.push({
        ticketId: `${externalId}-t${k}`,
        account: externalId,
        status: 'solved',
        priority: 'normal',
        kind: 'complaint',
        openedAt: iso(opened),
        firstResponseAt: iso(opened + 2 * 3600_000),
        solvedAt: iso(opened + 30 * 3600_000),
        updatedAt: iso(opened + 30 * 3600_000),
      });
    }
    if (nps !== null) {
      out.items.surveys.push({ responseId: `${externalId}-nps`, account: externalId, kind: 'nps', score: nps, respondedAt: iso(at - 20 * DAY) });
    }
    out.items.contracts.push({
      contractId: `${externalId}-c1`,
      account: externalId,
      startDate: isoDay(outcome - Math.round(contractMonths * 30.4375) * DAY),
      endDate: isoDay(outcome),
      arr: 12_000,
      seats: 5,
      autoRenew: random() < 0.5,
      status: churned ? 'churned' : 'renewed',
    });
  }
  return out;
}

/** Feeds a generated portfolio through the app's batch API in this process (no server), e.g. into a CLI test's database. */
export async function loadPortfolioInto(db: Kysely<Database>, portfolio: GeneratedPortfolio): Promise<void> {
  const { key } = await createApiKey(db, 'portfolio', ['admin']);
  const app = createApp({ database: () => db, logger: createLogger('silent') });
  const call: TestServer['call'] = async (method, path, options = {}) =>
    app.request(path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(options.body) });
  await loadPortfolio({ call }, portfolio);
}

/** Feeds a generated portfolio through the public batch API. */
export async function loadPortfolio(s: Pick<TestServer, 'call'>, portfolio: GeneratedPortfolio): Promise<void> {
  const send = async (path: string, items: unknown[], size: number) => {
    for (let i = 0; i < items.length; i += size) {
      const res = await s.call('POST', path, { body: { items: items.slice(i, i + size) } });
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { summary: { error: number }; results: { errors?: unknown }[] };
      if (body.summary.error > 0) throw new Error(`${path}: ${JSON.stringify(body.results.find((r) => r.errors))}`);
    }
  };
  await send('/v1/accounts/batch', portfolio.items.accounts, 1000);
  await send('/v1/usage/batch', portfolio.items.usage, 5000);
  await send('/v1/tickets/batch', portfolio.items.tickets, 5000);
  await send('/v1/surveys/batch', portfolio.items.surveys, 5000);
  await send('/v1/contracts/batch', portfolio.items.contracts, 5000);
}
