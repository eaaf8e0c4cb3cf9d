/** Tables of sql/0007_alerts.sql. */
export interface AlertTables {}
