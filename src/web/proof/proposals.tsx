/** @jsxImportSource hono/jsx */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { Translator } from '../../i18n/index.js';

/**
 * The newest fit proposal (docs/proof-of-score.md, "Fit proposals"), read
 * from its table where the installation has one; null otherwise, and the
 * pages then show no notice. Columns are read generically (snake_case or a
 * JSON body) so the notice follows the proposal's documented JSON shape.
 */
export interface FitProposal {
  id: number;
  status: string;
  better: boolean;
  reason?: string;
  active?: { scorecardId: number; version: number; auc: number | null } | null;
  draft?: { scorecardId: number; version: number; auc: number | null; fitReportId?: number | null } | null;
  comparison?: { aucDifference: number | null; interval: [number | null, number | null] | null } | null;
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
function camelize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelize);
  if (value && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), camelize(v)]));
  return value;
}

export async function latestProposal(db: Kysely<Database>): Promise<FitProposal | null> {
  const { rows } = await sql<{ present: boolean }>`select to_regclass('fit_proposals') is not null as present`.execute(db);
  if (!rows[0]?.present) return null;
  const found = await sql<Record<string, unknown>>`select * from fit_proposals order by id desc limit 1`.execute(db);
  const row = found.rows[0];
  if (!row) return null;
  const flat = camelize(row) as Record<string, unknown>;
  // A proposal kept as one JSON document: its fields are the body's.
  const body = (['proposal', 'body', 'report'].map((k) => flat[k]).find((v) => v && typeof v === 'object') ?? {}) as Record<string, unknown>;
  const merged = { ...body, ...flat } as Record<string, unknown>;
  if (typeof merged.status !== 'string') return null;
  return {
    id: Number(merged.id),
    status: merged.status,
    better: merged.better === true,
    reason: typeof merged.reason === 'string' ? merged.reason : undefined,
    active: (merged.active as FitProposal['active']) ?? null,
    draft: (merged.draft as FitProposal['draft']) ?? null,
    comparison: (merged.comparison as FitProposal['comparison']) ?? null,
  };
}

const fixed = (x: number | null | undefined) => (typeof x === 'number' ? x.toFixed(3) : '—');

/** A notice for the scorecards and proof pages when a fitted draft beats the active scorecard by a margin to trust. */
export function ProposalNotice({ proposal, tr }: { proposal: FitProposal | null; tr: Translator }) {
  if (!proposal || !proposal.better || !proposal.draft) return null;
  const { t } = tr;
  const draft = proposal.draft;
  const interval = proposal.comparison?.interval;
  return (
    <section class="notice proposal" role="status" data-testid="fit-proposal" aria-labelledby="h-proposal">
      <h2 id="h-proposal">{t('proof.proposalTitle')}</h2>
      <p>
        {t('proof.proposalText', {
          version: draft.version,
          draft: fixed(draft.auc),
          active: fixed(proposal.active?.auc),
          low: fixed(interval?.[0]),
          high: fixed(interval?.[1]),
        })}
      </p>
      <p class="row">
        {draft.fitReportId ? <a href={`/proof/reports/${draft.fitReportId}`}>{t('proof.proposalReport')}</a> : null}
        {proposal.active ? <a href={`/scorecards/compare?a=${proposal.active.scorecardId}&b=${draft.scorecardId}`}>{t('proof.compareVersions')}</a> : null}
        <a href={`/scorecards/${draft.scorecardId}/activate`}>{t('proof.reviewActivation')}</a>
      </p>
    </section>
  );
}
