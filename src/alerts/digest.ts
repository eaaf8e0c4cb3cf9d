import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { enqueueEvents } from '../outbox/index.js';
import { type Attribution, attribute, explain, type MeasureExplanation, type StoredScore } from '../scoring/explain.js';
import type { Band } from '../scoring/model.js';
import { type ScorecardDefinition, scorecardDefinitionSchema } from '../scoring/scorecard.js';

type Db = Kysely<Database>;

/**
 * What events and alert reasons say about an account's health: the same
 * explanation and attribution as GET /v1/accounts/{id}/health, read for many
 * accounts at once (three queries, however many accounts).
 */
export interface HealthDigest {
  accountId: number;
  externalId: string;
  name: string;
  owner: string | null;
  retentionOwner: string | null;
  score: number | null;
  band: Band | null;
  explanation: MeasureExplanation[];
  attribution: { since: string; changes: Attribution[] } | null;
  /** The current stored score with its scorecard (for attribution against another snapshot). */
  current: { card: ScorecardDefinition; stored: StoredScore } | null;
}

/**
 * The reference the attribution is measured from: `week` is the daily
 * snapshot of 7 days ago (what the health API shows); `previous` is the last
 * snapshot written before this transaction (what moved a band just now).
 */
export type Reference = 'week' | 'previous';

export const round2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);

interface DigestRow {
  account_id: number;
  external_id: string;
  name: string;
  owner: string | null;
  retention_owner: string | null;
  scorecard_id: number | null;
  score: number | null;
  band: string | null;
  raw: (number | null)[] | null;
  sub: (number | null)[] | null;
  pulse: number | null;
  ref_scorecard_id: number | null;
  ref_taken_at: Date | null;
  ref_score: number | null;
  ref_raw: (number | null)[] | null;
  ref_sub: (number | null)[] | null;
  ref_pulse: number | null;
}

/** Parsed scorecard definitions by id, loaded in one query and kept for the call. */
export function scorecardCache(db: Db) {
  const cache = new Map<number, ScorecardDefinition>();
  return {
    async load(ids: Iterable<number>) {
      const missing = [...new Set(ids)].filter((id) => !cache.has(id));
      if (missing.length === 0) return;
      const rows = await db.selectFrom('scorecards').select(['id', 'definition']).where('id', 'in', missing).execute();
      for (const row of rows) cache.set(row.id, scorecardDefinitionSchema.parse(row.definition));
    },
    get: (id: number) => cache.get(id),
  };
}

export async function loadDigests(db: Db, accountIds: number[], reference: Reference): Promise<Map<number, HealthDigest>> {
  const ids = [...new Set(accountIds)];
  const out = new Map<number, HealthDigest>();
  if (ids.length === 0) return out;
  const referenceFilter =
    reference === 'week'
      ? sql`s.reason = 'daily' and s.day <= (now() at time zone 'utc')::date - 7 order by s.day desc, s.taken_at desc`
      : sql`s.taken_at < now() order by s.taken_at desc, s.reason desc`;
  const { rows } = await sql<DigestRow>`
    select a.id as account_id, a.external_id, a.name, a.owner, a.retention_owner,
           h.scorecard_id, h.score, h.band, h.raw, h.sub, h.pulse,
           r.scorecard_id as ref_scorecard_id, r.taken_at as ref_taken_at, r.score as ref_score,
           r.raw as ref_raw, r.sub as ref_sub, r.pulse as ref_pulse
      from accounts a
      left join health_scores h on h.account_id = a.id
      left join lateral (
        select s.scorecard_id, s.taken_at, s.score, s.raw, s.sub, s.pulse
          from health_snapshots s
         where s.account_id = a.id and h.account_id is not null and ${referenceFilter}
         limit 1) r on true
     where a.id = any(${ids}::int8[])`.execute(db);
  const cards = scorecardCache(db);
  await cards.load(rows.flatMap((r) => [r.scorecard_id, r.ref_scorecard_id].filter((id): id is number => id !== null)));
  for (const row of rows) {
    const card = row.scorecard_id === null ? undefined : cards.get(row.scorecard_id);
    const stored: StoredScore | null = card ? { score: row.score, raw: row.raw ?? [], sub: row.sub ?? [], pulse: row.pulse } : null;
    const refCard = row.ref_scorecard_id === null ? undefined : cards.get(row.ref_scorecard_id);
    out.set(row.account_id, {
      accountId: row.account_id,
      externalId: row.external_id,
      name: row.name,
      owner: row.owner,
      retentionOwner: row.retention_owner,
      score: round2(row.score),
      band: row.band as Band | null,
      explanation: card && stored ? explain(card, stored) : [],
      attribution:
        card && stored && refCard && row.ref_taken_at
          ? {
              since: row.ref_taken_at.toISOString(),
              changes: attribute(
                { card: refCard, stored: { score: row.ref_score, raw: row.ref_raw ?? [], sub: row.ref_sub ?? [], pulse: row.ref_pulse } },
                { card, stored },
              ),
            }
          : null,
      current: card && stored ? { card, stored } : null,
    });
  }
  return out;
}

/** The account and health part of an event payload. */
export const healthPayload = (d: HealthDigest) => ({
  account: { externalId: d.externalId, name: d.name, owner: d.owner, retentionOwner: d.retentionOwner },
  score: d.score,
  band: d.band,
  explanation: d.explanation,
  attribution: d.attribution,
});

/**
 * Enqueues `health.band_changed` for the band changes of a recompute, in its
 * transaction; the attribution is measured from the last snapshot before it.
 */
export async function enqueueBandChanges(trx: Db, bandChanges: BandChangeInput[]): Promise<number> {
  // In slices: the first scoring of a million accounts is a million band changes.
  for (let i = 0; i < bandChanges.length; i += EVENT_SLICE) await enqueueBandChangeSlice(trx, bandChanges.slice(i, i + EVENT_SLICE));
  return bandChanges.length;
}

type BandChangeInput = { accountId: number; previous: Band | null; band: Band; score: number };

/** Accounts whose digests and events are built at a time, so memory stays bounded. */
export const EVENT_SLICE = 2_000;

async function enqueueBandChangeSlice(trx: Db, bandChanges: BandChangeInput[]): Promise<void> {
  const digests = await loadDigests(trx, bandChanges.map((c) => c.accountId), 'previous');
  const events = bandChanges.flatMap((change) => {
    const d = digests.get(change.accountId);
    if (!d) return [];
    return [{
      type: 'health.band_changed' as const,
      accountId: change.accountId,
      payload: { ...healthPayload(d), score: round2(change.score), band: change.band, previousBand: change.previous },
    }];
  });
  await enqueueEvents(trx, events);
}
