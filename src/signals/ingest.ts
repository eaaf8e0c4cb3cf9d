import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { isRejected, writeIsolated } from '../db/isolation.js';
import { checkValue } from '../http/input.js';
import type { Database } from '../db/schema.js';
import { inRetriedTransaction } from '../db/transaction.js';
import { markForRescore } from '../scoring/rescore-marks.js';
import { markForBackfill } from '../scoring/backfill.js';
import { recordSourceDays, resolveAccounts, type SourceDay } from './accounts.js';
import { writeContracts } from './contracts.js';
import {
  type Contract,
  contractSchema,
  type ItemOutcome,
  type SignalWriter,
  type SurveyResponse,
  surveyResponseSchema,
  type Ticket,
  ticketSchema,
  type UsageEvent,
  usageEventSchema,
} from './schemas.js';
import { writeSurveyResponses } from './surveys.js';
import { writeTickets } from './tickets.js';
import { writeUsageEvents } from './usage.js';
import { writeOutcomes } from '../outcomes/repository.js';
import { type OutcomeItem, outcomeItemSchema } from '../outcomes/schemas.js';


export interface SignalKind<T extends { account: string }> {
  name: string;
  schema: z.ZodType<T>;
  /** The natural id; two items with the same one in a batch are refused. */
  naturalId(item: T): string;
  write: SignalWriter<T>;
  /** The source and UTC day an item's data belongs to: says when a source was connected (sql/0010). */
  sourceDay(item: T): SourceDay | null;
}

const utcDay = (iso: string) => new Date(iso).toISOString().slice(0, 10);

export const SIGNALS = {
  usage: { name: 'usage event', schema: usageEventSchema, naturalId: (e) => e.eventId, write: writeUsageEvents, sourceDay: (e) => ['usage', utcDay(e.occurredAt)] } satisfies SignalKind<UsageEvent>,
  tickets: { name: 'ticket', schema: ticketSchema, naturalId: (t) => t.ticketId, write: writeTickets, sourceDay: (t) => ['support', utcDay(t.openedAt)] } satisfies SignalKind<Ticket>,
  surveys: { name: 'survey response', schema: surveyResponseSchema, naturalId: (s) => s.responseId, write: writeSurveyResponses, sourceDay: (s) => (s.kind === 'ces' ? null : [s.kind, utcDay(s.respondedAt)]) } satisfies SignalKind<SurveyResponse>,
  outcomes: { name: 'outcome', schema: outcomeItemSchema, naturalId: (o) => o.outcomeId, write: writeOutcomes, sourceDay: () => null } satisfies SignalKind<OutcomeItem>,
  contracts: { name: 'contract', schema: contractSchema, naturalId: (c) => c.contractId, write: writeContracts, sourceDay: (c) => ['commercial', c.startDate] } satisfies SignalKind<Contract>,
};
export type SignalName = keyof typeof SIGNALS;
export const SIGNAL_NAMES = Object.keys(SIGNALS) as SignalName[];

export interface ItemResult {
  index: number;
  id: string | null;
  result: ItemOutcome;
  errors?: { field: string; message: string }[];
}

export interface BatchResult {
  summary: Record<ItemOutcome, number>;
  results: ItemResult[];
}

const rawId = (raw: unknown, field: string) => {
  const value = (raw as Record<string, unknown> | null)?.[field];
  return typeof value === 'string' ? value : null;
};

/**
 * The intake pipeline every channel shares (HTTP batches, inbound webhooks,
 * CSV import): validate each item on its own, resolve accounts, write the
 * valid ones in one transaction and queue their accounts for rescoring. A bad
 * item is reported with its index and reason and never sinks the others.
 */
export async function ingestBatch<T extends { account: string }>(
  db: Kysely<Database>,
  kind: SignalKind<T>,
  items: unknown[],
  options: { createMissingAccounts?: boolean; idField?: string } = {},
): Promise<BatchResult> {
  const results: ItemResult[] = new Array(items.length);
  const valid: { index: number; item: T }[] = [];
  const firstSeen = new Map<string, number>();

  items.forEach((raw, index) => {
    const parsed = checkValue(kind.schema, raw);
    if (!parsed.success) {
      const errors = parsed.errors.map((e) => ({ field: e.field || '(item)', message: e.message }));
      results[index] = { index, id: options.idField ? rawId(raw, options.idField) : null, result: 'error', errors };
      return;
    }
    const key = `${parsed.data.account}\u0000${kind.naturalId(parsed.data)}`;
    const seen = firstSeen.get(key);
    if (seen !== undefined) {
      results[index] = {
        index,
        id: kind.naturalId(parsed.data),
        result: 'error',
        errors: [{ field: '(item)', message: `same ${kind.name} as item ${seen} of this batch` }],
      };
      return;
    }
    firstSeen.set(key, index);
    valid.push({ index, item: parsed.data });
  });

  // Concurrent batches can still deadlock on shared rollup rows; the batch is then simply written again.
  await inRetriedTransaction(db, async (trx) => {
    const accounts = await resolveAccounts(trx, valid.map((v) => v.item.account), options.createMissingAccounts ?? false);
    const known: { index: number; accountId: number; item: T }[] = [];
    for (const v of valid) {
      const accountId = accounts.get(v.item.account);
      if (accountId === undefined) {
        results[v.index] = {
          index: v.index,
          id: kind.naturalId(v.item),
          result: 'error',
          errors: [{ field: 'account', message: `unknown account ${v.item.account}` }],
        };
      } else {
        known.push({ index: v.index, accountId, item: v.item });
      }
    }
    const outcomes = await writeIsolated(trx, known, kind.write);
    const touched: number[] = [];
    known.forEach((k, i) => {
      const outcome = outcomes[i]!;
      results[k.index] =
        isRejected(outcome)
          ? {
              index: k.index,
              id: kind.naturalId(k.item),
              result: 'error',
              errors: [{ field: '(item)', message: `rejected by the database (SQLSTATE ${outcome.sqlstate})` }],
            }
          : { index: k.index, id: kind.naturalId(k.item), result: outcome };
      if (outcome === 'created' || outcome === 'updated') touched.push(k.accountId);
    });
    await markForRescore(trx, touched);
    const written = known.filter((_, i) => outcomes[i] === 'created' || outcomes[i] === 'updated');
    await recordSourceDays(trx, written.map((k) => kind.sourceDay(k.item)).filter((d) => d !== null));
    // Back-dated signals change past scores too: the history is backfilled once they settle.
    await markForBackfill(trx, written.flatMap((k) => {
      const day = kind.sourceDay(k.item)?.[1];
      return day ? [{ accountId: k.accountId, day }] : [];
    }));
  });

  const summary = { created: 0, updated: 0, unchanged: 0, stale: 0, error: 0 };
  for (const r of results) summary[r.result] += 1;
  return { summary, results };
}
