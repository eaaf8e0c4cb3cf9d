import { type Kysely, sql } from 'kysely';
import type { ApiKeyRow, Database } from '../db/schema.js';
import { displayPrefix, generateApiKey, hashApiKey, type Principal, type Scope } from './keys.js';

type Db = Kysely<Database>;

export interface ApiKeyInfo {
  id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Creates a key and returns its secret, the only time the secret exists outside the caller. */
export async function createApiKey(db: Db, name: string, scopes: Scope[]): Promise<{ key: string; info: ApiKeyInfo }> {
  const key = generateApiKey();
  const row = await db
    .insertInto('api_keys')
    .values({ name, scopes, prefix: displayPrefix(key), key_hash: await hashApiKey(key) })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, info: toInfo(row) };
}

export async function listApiKeys(db: Db): Promise<ApiKeyInfo[]> {
  const rows = await db.selectFrom('api_keys').selectAll().orderBy('id').execute();
  return rows.map(toInfo);
}

/** Revokes by id; true when a live key was revoked (false: unknown or already revoked). */
export async function revokeApiKey(db: Db, id: number): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Finds a live key by its secret and stamps its use. */
export async function authenticateApiKey(db: Db, key: string): Promise<Principal | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set({ last_used_at: sql`now()` })
    .where('key_hash', '=', await hashApiKey(key))
    .where('revoked_at', 'is', null)
    .returning(['id', 'name', 'scopes'])
    .executeTakeFirst();
  return row ? { keyId: row.id, name: row.name, scopes: row.scopes as Scope[] } : undefined;
}

/**
 * On the first start of an empty database, one admin key. The bootstrap row's
 * primary key decides which replica creates it; the others get undefined.
 */
export async function bootstrapAdminKey(db: Db): Promise<string | undefined> {
  return db.transaction().execute(async (trx) => {
    const won = await trx
      .insertInto('bootstrap')
      .defaultValues()
      .onConflict((oc) => oc.doNothing())
      .returning('singleton')
      .executeTakeFirst();
    if (!won) return undefined;
    const { key } = await createApiKey(trx, 'bootstrap-admin', ['admin']);
    return key;
  });
}

function toInfo(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as Scope[],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
