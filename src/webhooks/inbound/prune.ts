import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

type Db = Kysely<Database>;

/**
 * Deletes in batches of this many rows, each its own statement, so pruning a
 * large backlog never holds locks on a big table for long.
 */
export const PRUNE_BATCH = 5000;

/** webhook-id records of inbound webhooks older than `days` (the redelivery dedupe window). */
export async function pruneInboundWebhookMessages(db: Db, days: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sql`
      delete from inbound_webhook_messages
      where (source, webhook_id) in (
        select source, webhook_id from inbound_webhook_messages
        where received_at < now() - make_interval(days => ${days})
        limit ${PRUNE_BATCH})`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    deleted += n;
    if (n < PRUNE_BATCH) return deleted;
  }
}
