import type { Kysely } from 'kysely';
import type { Principal } from '../auth/keys.js';
import type { ReadReplica } from '../db/read-routing.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';

/**
 * What every handler can read from `c.var`. Features add the hooks the
 * composition root sets on each request by augmenting this interface
 * (`afterScoring`: src/scoring/recompute.ts), so http knows no feature.
 */
export interface AppVariables {
  db: Kysely<Database>;
  /** The streaming replica for reads that tolerate a little lag (DATABASE_READ_URL); read through lagTolerantRead (src/http/read-routing.ts). */
  readReplica?: ReadReplica;
  logger: Logger;
  requestId: string;
  principal?: Principal;
  /** WEBHOOK_ALLOW_PRIVATE_URLS: subscriptions may point to localhost and private networks. */
  allowPrivateWebhookUrls: boolean;
}

export interface AppEnv {
  Variables: AppVariables;
  Bindings: object | undefined;
}
