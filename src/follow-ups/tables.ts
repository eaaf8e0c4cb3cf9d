/** Tables of sql/0008_follow_ups.sql. */
export interface FollowUpTables {}
