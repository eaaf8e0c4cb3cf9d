import { newWebhookSecret } from '../../encoding.js';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../../db/schema.js';
import { inTransaction } from '../../db/transaction.js';

type Db = Kysely<Database>;
/** A function taking it runs inside its caller's transaction. */
type Trx = Transaction<Database>;

/** The names webhook_sources accepts (sql/0003): lower case, digits, `_` and `-`, up to 63 characters. */
export const SOURCE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** How long older secrets keep verifying after a rotation unless told otherwise. */
export const DEFAULT_ROTATION_OVERLAP_HOURS = 24;
export const MAX_ROTATION_OVERLAP_HOURS = 24 * 365;

export interface SecretInfo {
  id: number;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface WebhookSourceInfo {
  name: string;
  createdAt: Date;
  /** Live (not expired) secrets, oldest first; never their values. */
  secrets: SecretInfo[];
}

const live = sql<boolean>`(expires_at is null or expires_at > now())`;

async function describeSource(db: Db, name: string): Promise<WebhookSourceInfo | undefined> {
  const source = await db.selectFrom('webhook_sources').selectAll().where('name', '=', name).executeTakeFirst();
  if (!source) return undefined;
  const secrets = await db
    .selectFrom('webhook_source_secrets')
    .select(['id', 'created_at', 'expires_at'])
    .where('source', '=', name)
    .where(live)
    .orderBy('id')
    .execute();
  return { name: source.name, createdAt: source.created_at, secrets: secrets.map(toSecretInfo) };
}

const toSecretInfo = (row: { id: number; created_at: Date; expires_at: Date | null }): SecretInfo => ({
  id: row.id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

export async function listWebhookSources(db: Db): Promise<WebhookSourceInfo[]> {
  const [sources, secrets] = await Promise.all([
    db.selectFrom('webhook_sources').selectAll().orderBy('name').execute(),
    db.selectFrom('webhook_source_secrets').select(['source', 'id', 'created_at', 'expires_at']).where(live).orderBy('id').execute(),
  ]);
  return sources.map((s) => ({
    name: s.name,
    createdAt: s.created_at,
    secrets: secrets.filter((x) => x.source === s.name).map(toSecretInfo),
  }));
}

/**
 * Creates the source with a fresh secret when it does not exist yet. The
 * secret is returned this once; an existing source is returned without one.
 */
export async function ensureWebhookSource(
  db: Db,
  name: string,
): Promise<{ created: boolean; source: WebhookSourceInfo; secret?: { id: number; value: string } }> {
  return inTransaction(db, async (trx) => {
    const inserted = await trx
      .insertInto('webhook_sources')
      .values({ name })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('name')
      .executeTakeFirst();
    if (!inserted) return { created: false, source: (await describeSource(trx, name))! };
    const value = newWebhookSecret();
    const row = await trx.insertInto('webhook_source_secrets').values({ source: name, secret: value }).returning('id').executeTakeFirstOrThrow();
    return { created: true, source: (await describeSource(trx, name))!, secret: { id: row.id, value } };
  });
}

/**
 * Adds a new secret. Older live secrets keep verifying for `expireOldInHours`
 * (an earlier expiry they already have is kept); 0 retires them now. Secrets
 * already expired are deleted. Undefined when the source does not exist.
 */
export async function rotateWebhookSecret(
  db: Db,
  name: string,
  expireOldInHours: number = DEFAULT_ROTATION_OVERLAP_HOURS,
): Promise<{ source: WebhookSourceInfo; secret: { id: number; value: string }; oldSecretsExpireAt: Date } | undefined> {
  return inTransaction(db, async (trx) => {
    // Locking the source row serialises concurrent rotations of one source.
    const source = await trx.selectFrom('webhook_sources').select('name').where('name', '=', name).forUpdate().executeTakeFirst();
    if (!source) return undefined;
    const { at } = await sql<{ at: Date }>`select now() + ${expireOldInHours}::float8 * interval '1 hour' as at`
      .execute(trx)
      .then((r) => r.rows[0]!);
    await trx.deleteFrom('webhook_source_secrets').where('source', '=', name).where(sql<boolean>`expires_at <= now()`).execute();
    await trx
      .updateTable('webhook_source_secrets')
      .set({ expires_at: sql`least(coalesce(expires_at, 'infinity'::timestamptz), ${at}::timestamptz)` })
      .where('source', '=', name)
      .execute();
    const value = newWebhookSecret();
    const row = await trx.insertInto('webhook_source_secrets').values({ source: name, secret: value }).returning('id').executeTakeFirstOrThrow();
    return { source: (await describeSource(trx, name))!, secret: { id: row.id, value }, oldSecretsExpireAt: at };
  });
}

/** Deletes the source with its secrets and delivery log; false when there was none. */
export async function deleteWebhookSource(db: Db, name: string): Promise<boolean> {
  const result = await db.deleteFrom('webhook_sources').where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The secrets a delivery to this source may be signed with right now. */
export async function liveSecrets(db: Db, name: string): Promise<string[]> {
  const rows = await db
    .selectFrom('webhook_source_secrets')
    .select('secret')
    .where('source', '=', name)
    .where(live)
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => r.secret);
}

/**
 * Records a webhook-id as processed; false when it already was. Run it in the
 * transaction that applies the delivery: a concurrent redelivery waits on the
 * uncommitted row and then sees it, and a failed delivery leaves no row.
 */
export async function claimWebhookMessage(trx: Trx, source: string, webhookId: string): Promise<boolean> {
  const row = await trx
    .insertInto('inbound_webhook_messages')
    .values({ source, webhook_id: webhookId })
    .onConflict((oc) => oc.columns(['source', 'webhook_id']).doNothing())
    .returning('webhook_id')
    .executeTakeFirst();
  return row !== undefined;
}
