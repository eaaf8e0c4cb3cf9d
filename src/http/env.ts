import type { Kysely } from 'kysely';
import type { Principal } from '../auth/keys.js';
import type { ReadReplica } from '../db/read-routing.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';

/** Who made a change, for the audit trail (src/audit). */
export interface AuditActor {
  type: 'person' | 'key' | 'system';
  /** people.id or api_keys.id */
  id?: string;
  /** A key's name; never a person's name or email. */
  label?: string;
}

/** Set on requests the audit trail records (src/audit/context.ts): they run in one transaction. */
export interface AuditScope {
  /** Names who is acting, once authentication knows. */
  identify(actor: AuditActor): Promise<void>;
  actor(): AuditActor;
  where: { ip: string | null; userAgent: string | null; requestId: string };
}

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
  /** Present on requests the audit trail records. */
  audit?: AuditScope;
}

export interface AppEnv {
  Variables: AppVariables;
  Bindings: object | undefined;
}
