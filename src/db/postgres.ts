import { Kysely } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Logger } from '../logger.js';
import { CircuitBreaker, DatabaseUnavailableError, registerBreaker } from './breaker.js';
import { ConnectionGate, guardDialect } from './guarded-driver.js';
import type { Database } from './schema.js';
import { PG_OID, parseDate, parseFloat, parseInt8, parseNumeric } from './types.js';

export interface PostgresOptions {
  url: string;
  max?: number;
  /** Workers: one short-lived connection per request. */
  idleTimeoutSeconds?: number;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutSeconds?: number;
  /**
   * Fail fast while the database is away (src/db/breaker.ts), with bounded
   * waiting for connections (default on). Off for the Workers' one-request
   * pools, which live shorter than an outage.
   */
  breaker?: boolean;
  /** Requests that may wait for a connection at once; more get 503 (default 1000). */
  maxWaiting?: number;
  /** How long a request may wait for a connection, ms; then 503 (default 10 000). */
  acquireTimeoutMs?: number;
  /** Where the breaker says it opened and closed. */
  logger?: Logger;
}

/** postgres.js options shared by the pool and the breaker's probe. */
const clientOptions = {
  onnotice: () => {},
  // Reconnect at once after a drop: the default backoff (up to 20 s) leaves queries queued
  // behind a connection that waits to retry, long after the database is back.
  backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
};

/**
 * Subscribes to NOTIFYs on a channel; resolves once listening, to a function
 * that stops. Notifications arrive after the notifying transaction commits.
 */
export type Listen = (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;

/** A Kysely instance over a postgres.js pool. Worker-safe: no Node-only imports. */
export function createPostgresDb(options: PostgresOptions) {
  const max = options.max ?? 10;
  const client = postgres(options.url, {
    max,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    ...clientOptions,
    types: {
      int8: { to: PG_OID.int8, from: [PG_OID.int8], serialize: String, parse: parseInt8 },
      numeric: { to: PG_OID.numeric, from: [PG_OID.numeric], serialize: String, parse: parseNumeric },
      date: { to: PG_OID.date, from: [PG_OID.date], serialize: String, parse: parseDate },
      float8: { to: PG_OID.float8, from: [PG_OID.float8, PG_OID.float4], serialize: String, parse: parseFloat },
    },
  });
  const dialect = new PostgresJSDialect({ postgres: client });
  let db: Kysely<Database>;
  let breaker: CircuitBreaker | undefined;
  if (options.breaker === false) db = new Kysely<Database>({ dialect });
  else {
    const gate = new ConnectionGate({ max, maxWaiting: options.maxWaiting ?? 1000, maxWaitMs: options.acquireTimeoutMs ?? 10_000 });
    breaker = new CircuitBreaker({
      logger: options.logger,
      probe: () => probe(options.url),
      onOpen: () => gate.refuseWaiting(new DatabaseUnavailableError('the database became unreachable while this request waited for a connection; retry the request')),
    });
    // Connecting gets the connect timeout plus a margin; a query may then run as long as it needs.
    const acquireTimeoutMs = (options.connectTimeoutSeconds ?? 5) * 1000 + 1000;
    db = new Kysely<Database>({ dialect: guardDialect(dialect, { breaker, gate, acquireTimeoutMs }) });
    registerBreaker(db, breaker);
  }
  // LISTEN on a connection of its own, which postgres.js re-opens (and
  // re-listens on) after a drop.
  const listen: Listen = async (channel, onNotify) => {
    const { unlisten } = await client.listen(channel, () => onNotify());
    return unlisten;
  };
  // end() with a timeout: a bare end() can wait forever for connections the
  // dialect reserved for queries still running at shutdown.
  return {
    db,
    listen,
    breaker,
    close: () => {
      breaker?.stop();
      return client.end({ timeout: 5 });
    },
  };
}

/** One fresh connection and `select 1`: the breaker's probe, apart from the pool, whose connections may be stuck. */
async function probe(url: string): Promise<void> {
  const once = postgres(url, { max: 1, connect_timeout: 2, idle_timeout: 1, ...clientOptions });
  try {
    await once`select 1`;
  } finally {
    void once.end({ timeout: 0 });
  }
}
