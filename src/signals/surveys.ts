import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SignalWriter, WriteOutcome } from './schemas.js';
import type { SurveyResponse } from './schemas.js';

/** Upserts survey responses; a re-sent identical response is `unchanged`, an edited one `updated`. */
export const writeSurveyResponses: SignalWriter<SurveyResponse> = async (db: Kysely<Database>, rows) => {
  const col = <T>(pick: (s: SurveyResponse) => T) => rows.map((r) => pick(r.item));
  const { rows: written } = await sql<{ account_id: number; response_id: string; inserted: boolean }>`
    insert into survey_responses (account_id, response_id, kind, score, comment, respondent, responded_at)
    select account_id, response_id, kind, score, comment, respondent, responded_at::timestamptz
      from unnest(
        ${rows.map((r) => r.accountId)}::int8[], ${col((s) => s.responseId)}::text[], ${col((s) => s.kind)}::text[],
        ${col((s) => s.score)}::int2[], ${col((s) => s.comment ?? null)}::text[], ${col((s) => s.respondent ?? null)}::text[],
        ${col((s) => s.respondedAt)}::text[]
      ) as t (account_id, response_id, kind, score, comment, respondent, responded_at)
    on conflict (account_id, response_id) do update set
      kind = excluded.kind, score = excluded.score, comment = excluded.comment,
      respondent = excluded.respondent, responded_at = excluded.responded_at
    where (survey_responses.kind, survey_responses.score, survey_responses.comment, survey_responses.respondent, survey_responses.responded_at)
          is distinct from (excluded.kind, excluded.score, excluded.comment, excluded.respondent, excluded.responded_at)
    returning account_id, response_id, (xmax = 0) as inserted`.execute(db);
  const outcome = new Map<string, WriteOutcome>(written.map((w) => [`${w.account_id}:${w.response_id}`, w.inserted ? 'created' : 'updated'] as const));
  return rows.map((r) => outcome.get(`${r.accountId}:${r.item.responseId}`) ?? 'unchanged');
};
