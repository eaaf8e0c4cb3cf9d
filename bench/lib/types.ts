import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.js';

export interface BenchContext {
  /** The bench database (dropped, recreated and migrated at start). */
  databaseUrl: string;
  db: Kysely<Database>;
  log: (message: string) => void;
}

export type Cell = string | number | null;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
}

export interface Figures {
  tables: Table[];
  /** Settings and caveats printed under the tables. */
  notes?: string[];
}

export interface Section {
  name: string;
  run(ctx: BenchContext): Promise<Figures>;
}
