import type { Kysely } from 'kysely';
import type { Principal } from '../auth/keys.js';
import type { ReadReplica } from '../db/read-routing.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { AfterScoring } from '../scoring/recompute.js';

/** What every handler can read from `c.var`. */
export interface AppVariables {
  db: Kysely<Database>;
  /** The streaming replica for reads that tolerate a little lag (DATABASE_READ_URL); read through lagTolerantRead (src/db/read-routing.ts). */
  readReplica?: ReadReplica;
  logger: Logger;
  requestId: string;
  principal?: Principal;
  /** WEBHOOK_ALLOW_PRIVATE_URLS: subscriptions may point to localhost and private networks. */
  allowPrivateWebhookUrls: boolean;
  /** What runs after a recompute in a request, in its transaction: the churn-risk alerts. */
  afterScoring: AfterScoring;
}

export interface AppEnv {
  Variables: AppVariables;
  Bindings: object | undefined;
}
