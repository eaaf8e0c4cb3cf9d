/** Tables of sql/0006_jobs.sql. */
export interface JobTables {}
