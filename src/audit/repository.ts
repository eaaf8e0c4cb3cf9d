import { type Kysely, sql } from 'kysely';
import { jsonb } from '../db/params.js';
import type { Database } from '../db/schema.js';
import type { AuditActor, AuditScope } from '../http/env.js';

type Db = Kysely<Database>;

export interface AuditEntryInput {
  /** `target.verb`: `import.completed`, `account.erased` … */
  action: string;
  targetType: string;
  targetId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/** Who and from where, for changes made outside a request (the CLI, jobs): the system. */
export const SYSTEM: { actor: AuditActor; where: AuditScope['where'] | null } = { actor: { type: 'system' }, where: null };

/**
 * Records one entry in the caller's transaction, for a change that is not one
 * row of an audited table (an import, an erasure). The request's scope says
 * who; without one (CLI, jobs) it is the system.
 */
export async function recordAudit(trx: Db, entry: AuditEntryInput, scope?: AuditScope): Promise<void> {
  const actor = scope?.actor() ?? SYSTEM.actor;
  const where = scope?.where;
  await trx
    .insertInto('audit_log')
    .values({
      actor_type: actor.type,
      actor_id: actor.id ?? null,
      actor_label: actor.label ?? null,
      ip: where?.ip ?? null,
      user_agent: where?.userAgent ?? null,
      request_id: where?.requestId ?? null,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId ?? null,
      before: entry.before ? jsonb(entry.before) : null,
      after: entry.after ? jsonb(entry.after) : null,
    })
    .execute();
}

export interface AuditFilter {
  actorType?: 'person' | 'key' | 'system';
  actorId?: string;
  /** Exact action, or a prefix ending in `.` (`scorecard.`). */
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  /** Entries after this id (the cursor), oldest first. */
  afterId?: number;
  limit: number;
}

export interface AuditEntry {
  id: number;
  at: Date;
  actorType: 'person' | 'key' | 'system';
  actorId: string | null;
  /** The key's name, or the person's email as of now (null once erased). */
  actorName: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
}

/** A page of the trail, oldest first from the cursor. */
export async function listAudit(db: Db, f: AuditFilter): Promise<{ items: AuditEntry[]; nextAfterId: number | null }> {
  let q = db
    .selectFrom('audit_log as a')
    .leftJoin('people as p', (j) => j.on('a.actor_type', '=', 'person').on(sql`a.actor_id`, '=', sql`p.id::text`))
    .selectAll('a')
    .select('p.email as person_email');
  if (f.actorType) q = q.where('a.actor_type', '=', f.actorType);
  if (f.actorId) q = q.where('a.actor_id', '=', f.actorId);
  if (f.action) q = f.action.endsWith('.') ? q.where('a.action', 'like', `${f.action.replace(/[\\%_]/g, '\\$&')}%`) : q.where('a.action', '=', f.action);
  if (f.targetType) q = q.where('a.target_type', '=', f.targetType);
  if (f.targetId) q = q.where('a.target_id', '=', f.targetId);
  if (f.from) q = q.where('a.at', '>=', f.from);
  if (f.to) q = q.where('a.at', '<', f.to);
  if (f.afterId) q = q.where('a.id', '>', f.afterId);
  const rows = await q.orderBy('a.id').limit(f.limit + 1).execute();
  const items = rows.slice(0, f.limit).map(
    (r): AuditEntry => ({
      id: r.id,
      at: r.at,
      actorType: r.actor_type,
      actorId: r.actor_id,
      actorName: r.actor_type === 'person' ? r.person_email : r.actor_label,
      ip: r.ip,
      userAgent: r.user_agent,
      requestId: r.request_id,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      before: r.before,
      after: r.after,
    }),
  );
  return { items, nextAfterId: rows.length > f.limit ? items[items.length - 1]!.id : null };
}

/** Deletes entries older than the retention (AUDIT_RETENTION_DAYS, at least 30): the one delete the table allows. */
export async function pruneAudit(db: Db, retentionDays: number): Promise<number> {
  const days = Math.max(30, Math.floor(retentionDays));
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('healthscore.audit_prune', 'on', true)`.execute(trx);
    const result = await trx.deleteFrom('audit_log').where('at', '<', sql<Date>`now() - make_interval(days => ${days})`).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}
