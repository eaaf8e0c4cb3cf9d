import type { Kysely } from 'kysely';
import { type ChangeFeed, feedClock, replicaFailed } from '../db/read-routing.js';
import type { Database } from '../db/schema.js';
import { errorFields } from '../logger.js';
import type { AppVariables } from './env.js';

/**
 * The request side of read routing (docs/scaling.md, "Read replicas"): a
 * handler's lag-tolerant read goes to the replica of c.var.readReplica when it
 * is fresh enough (src/db/read-routing.ts measures that), else to the primary.
 */
export interface LagTolerantOptions {
  /**
   * A change feed read from a cursor: when the cursor is newer than the
   * replica's clock (it came from the primary, or a fresher replica), the
   * primary serves the page, so a client never sees the feed go back.
   */
  feed?: { name: ChangeFeed; after?: number };
}

/**
 * Runs a read that tolerates a little lag on the replica when one is set and
 * fresh enough, else (and when the replica fails mid-read) on the primary.
 * Says which served it in `x-read-source`.
 */
export async function lagTolerantRead<T>(
  c: { var: Pick<AppVariables, 'db' | 'readReplica' | 'logger' | 'requestId'>; header(name: string, value: string): void },
  read: (db: Kysely<Database>) => Promise<T>,
  options: LagTolerantOptions = {},
): Promise<T> {
  const replica = c.var.readReplica;
  if (replica && (await replica.monitor.usable(replica.db))) {
    try {
      const { feed } = options;
      if (!feed?.after || (await feedClock(replica.db, feed.name)) >= feed.after) {
        const value = await read(replica.db);
        c.header('x-read-source', 'replica');
        return value;
      }
    } catch (err) {
      if (!replicaFailed(err)) throw err;
      replica.monitor.markUnreachable();
      c.var.logger.warn('replica read failed; read from the primary', { requestId: c.var.requestId, ...errorFields(err) });
    }
  }
  c.header('x-read-source', 'primary');
  return read(c.var.db);
}
