import type { Generated } from 'kysely';

/** Tables of sql/0045_audit_trail.sql. */
export interface AuditTables {
  audit_log: {
    id: Generated<number>;
    at: Generated<Date>;
    actor_type: 'person' | 'key' | 'system';
    actor_id: string | null;
    actor_label: string | null;
    ip: string | null;
    user_agent: string | null;
    request_id: string | null;
    action: string;
    target_type: string;
    target_id: string | null;
    before: unknown;
    after: unknown;
  };
}
