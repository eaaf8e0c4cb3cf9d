import type { Generated } from 'kysely';
import type { Timestamp } from '../types.js';

/** Tables of sql/0025_web_people.sql. */
export interface PeopleTables {
  people: {
    id: Generated<number>;
    email: string;
    name: string;
    roles: string[];
    password_hash: string;
    locale: string | null;
    disabled_at: Timestamp | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  web_sessions: {
    id_hash: string;
    person_id: number;
    csrf_token: string;
    created_at: Generated<Date>;
    last_seen_at: Generated<Date>;
    expires_at: Timestamp;
  };
  sign_in_failures: {
    key: string;
    at: Generated<Date>;
  };
}
