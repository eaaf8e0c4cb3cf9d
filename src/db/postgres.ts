import { Kysely } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Database } from './schema.js';
import { PG_OID, parseDate, parseFloat, parseInt8, parseNumeric } from './types.js';

export interface PostgresOptions {
  url: string;
  max?: number;
  /** Workers: one short-lived connection per request. */
  idleTimeoutSeconds?: number;
  /** Give up connecting after this long (postgres.js default 30 s). */
  connectTimeoutSeconds?: number;
}

/**
 * Subscribes to NOTIFYs on a channel; resolves once listening, to a function
 * that stops. Notifications arrive after the notifying transaction commits.
 */
export type Listen = (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;

/** A Kysely instance over a postgres.js pool. Worker-safe: no Node-only imports. */
export function createPostgresDb(options: PostgresOptions) {
  const client = postgres(options.url, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    ...(options.connectTimeoutSeconds ? { connect_timeout: options.connectTimeoutSeconds } : {}),
    onnotice: () => {},
    types: {
      int8: { to: PG_OID.int8, from: [PG_OID.int8], serialize: String, parse: parseInt8 },
      numeric: { to: PG_OID.numeric, from: [PG_OID.numeric], serialize: String, parse: parseNumeric },
      date: { to: PG_OID.date, from: [PG_OID.date], serialize: String, parse: parseDate },
      float8: { to: PG_OID.float8, from: [PG_OID.float8, PG_OID.float4], serialize: String, parse: parseFloat },
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresJSDialect({ postgres: client }) });
  // LISTEN on a connection of its own, which postgres.js re-opens (and
  // re-listens on) after a drop.
  const listen: Listen = async (channel, onNotify) => {
    const { unlisten } = await client.listen(channel, () => onNotify());
    return unlisten;
  };
  // end() with a timeout: a bare end() can wait forever for connections the
  // dialect reserved for queries still running at shutdown.
  return { db, listen, close: () => client.end({ timeout: 5 }) };
}
