import type { Generated } from 'kysely';

/** Tables of sql/0046_sso_scim.sql (the columns it adds to people and web_sessions live in src/people/tables.ts). */
export interface SsoTables {
  sso_group_roles: {
    group_name: string;
    roles: string[];
    updated_at: Generated<Date>;
  };
  sso_pending: {
    state_hash: string;
    code_verifier: string;
    nonce: string;
    next_path: string | null;
    created_at: Generated<Date>;
  };
  scim_groups: {
    id: Generated<number>;
    display_name: string;
    external_id: string | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  scim_group_members: {
    group_id: number;
    person_id: number;
  };
}
