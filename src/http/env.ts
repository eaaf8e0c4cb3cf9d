import type { Kysely } from 'kysely';
import type { Principal } from '../auth/keys.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';

/** What every handler can read from `c.var`. */
export interface AppVariables {
  db: Kysely<Database>;
  logger: Logger;
  requestId: string;
  principal?: Principal;
}

export interface AppEnv {
  Variables: AppVariables;
  Bindings: object | undefined;
}
