import type { Generated } from 'kysely';
import type { Timestamp } from '../types.js';

export type FollowUpKind = 'call' | 'visit' | 'email' | 'qbr';
export type FollowUpStatus = 'scheduled' | 'done' | 'cancelled' | 'missed';
export type FollowUpOutcome = 'resolved' | 'unresolved' | 'no_answer' | 'rescheduled';
export type CauseType = 'alert' | 'ticket' | 'survey' | 'contract' | 'band_change' | 'periodic';

/** Tables of sql/0008_follow_ups.sql. */
export interface FollowUpTables {
  team_members: {
    email: string;
    name: string;
    timezone: string | null;
    work_start: Generated<number>;
    work_end: Generated<number>;
    working_days: Generated<number[]>;
    daily_capacity: Generated<number>;
    manager_email: string | null;
    calendar_token_hash: string | null;
    calendar_token_created_at: Timestamp | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  follow_up_playbooks: {
    id: Generated<number>;
    key: string;
    version: number;
    definition: unknown;
    active: Generated<boolean>;
    created_at: Generated<Date>;
    activated_at: Timestamp | null;
  };
  follow_ups: {
    id: Generated<number>;
    account_id: number;
    playbook_key: string;
    playbook_version: number;
    anchor: string;
    kind: FollowUpKind;
    title: string;
    reason: string;
    cause_type: CauseType;
    cause_ref: string;
    assignee: string | null;
    timezone: string;
    due_at: Timestamp;
    status: Generated<FollowUpStatus>;
    outcome: FollowUpOutcome | null;
    notes: string | null;
    completed_at: Timestamp | null;
    cancelled_at: Timestamp | null;
    cancel_reason: string | null;
    missed_at: Timestamp | null;
    due_notified_at: Timestamp | null;
    escalated_to: string | null;
    escalated_at: Timestamp | null;
    escalation_reason: string | null;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
}
