import type { ColumnType } from 'kysely';

/** A timestamptz column: read as a Date; written as a Date or ISO text (optional where the column has a default). */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/**
 * One reading of PostgreSQL values for both drivers, so code and tests never
 * see a count as a number on one and a string on the other.
 */
export const PG_OID = { int8: 20, numeric: 1700, date: 1082, float4: 700, float8: 701 } as const;

/**
 * postgres.js hands array elements to these parsers and passes a NULL
 * element as the text `NULL` (a real value never prints so), so map it back.
 */
const nullable =
  <T>(parse: (value: string) => T) =>
  (value: string): T | null =>
    value === 'NULL' ? null : parse(value);

export const parseInt8 = nullable(Number);
export const parseNumeric = nullable(Number);
export const parseFloat = nullable(Number);
export const parseDate = nullable((value: string) => value);
