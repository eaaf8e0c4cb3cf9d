import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The checked-in shape of the database. Keep it in step with `sql/`;
 * Keep this file in step with sql/ by hand.
 *
 * Both drivers are set up (src/db/types.ts) so int8 and numeric come back as
 * numbers and `date` as a `YYYY-MM-DD` string.
 */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = Record<string, unknown>;

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string[];
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface BootstrapTable {
  singleton: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface ChangeClocksTable {
  feed: string;
  seq: number;
}

export interface AccountsTable {
  id: Generated<number>;
  external_id: string;
  name: string;
  segment: string | null;
  tier: string | null;
  owner: string | null;
  retention_owner: string | null;
  seats: number | null;
  arr: number | null;
  currency: string | null;
  timezone: string | null;
  lifecycle_stage: string | null;
  renewal_date: string | null;
  attributes: Json;
  archived_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  change_seq: Generated<number>;
}

export interface Database {
  api_keys: ApiKeysTable;
  bootstrap: BootstrapTable;
  change_clocks: ChangeClocksTable;
  accounts: AccountsTable;
}

export type AccountRow = Selectable<AccountsTable>;
export type NewAccountRow = Insertable<AccountsTable>;
export type AccountUpdate = Updateable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
