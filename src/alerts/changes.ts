import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { type EventType, enqueueEvents } from '../outbox/index.js';
import { EVENT_SLICE, healthPayload, loadDigests } from './digest.js';
import { findAlertRows, toAlert } from './repository.js';
import type { AlertAction } from '../db/tables/alerts.js';

type Db = Kysely<Database>;

/** Who does what by hand is the API key's name; evaluation and the sweep are 'system'. */
export const SYSTEM = 'system';

/** One state change of an alert: a history row and one webhook event. */
export interface AlertChange {
  alertId: number;
  action: AlertAction;
  actor: string;
  details?: Record<string, unknown>;
}

const eventType = (action: AlertAction): EventType =>
  action === 'opened' ? 'churn_risk.opened' : action === 'resolved' ? 'churn_risk.resolved' : 'churn_risk.updated';

/**
 * Records changes already made to alerts, in the caller's transaction: one
 * alert_events row each (set-based) and one `churn_risk.*` event each in the
 * outbox, so the history and the events exist exactly when the change
 * commits. Call it after the alerts rows were written.
 */
export async function recordChanges(trx: Db, changes: AlertChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += EVENT_SLICE) await recordChangeSlice(trx, changes.slice(i, i + EVENT_SLICE));
}

async function recordChangeSlice(trx: Db, changes: AlertChange[]): Promise<void> {
  const rows = changes.map((c, ord) => ({ ord, alert_id: c.alertId, action: c.action, actor: c.actor, details: c.details ?? {} }));
  const inserted = await sql<{ id: number; at: Date }>`
    insert into alert_events (alert_id, action, actor, details)
    select alert_id, action, actor, details
      from jsonb_to_recordset(cast(${JSON.stringify(rows)}::text as jsonb))
           as x(ord int, alert_id int8, action text, actor text, details jsonb)
     order by ord
    returning id, at`.execute(trx);
  const at = inserted.rows[0]?.at.toISOString() ?? new Date().toISOString();
  const alerts = await findAlertRows(trx, changes.map((c) => c.alertId));
  const digests = await loadDigests(trx, [...alerts.values()].map((a) => a.account_id), 'week');
  const events = changes.flatMap((change) => {
    const row = alerts.get(change.alertId);
    if (!row) return [];
    const digest = digests.get(row.account_id);
    return [{
      type: eventType(change.action),
      accountId: row.account_id,
      payload: {
        ...(digest ? healthPayload(digest) : { account: { externalId: row.external_id, name: row.name } }),
        alert: toAlert(row),
        change: { action: change.action, actor: change.actor, at, details: change.details ?? {} },
      },
    }];
  });
  await enqueueEvents(trx, events);
}
