/**
 * One reading of PostgreSQL values for both drivers, so code and tests never
 * see a count as a number on one and a string on the other.
 */
export const PG_OID = { int8: 20, numeric: 1700, date: 1082 } as const;

export const parseInt8 = (value: string): number => Number(value);
export const parseNumeric = (value: string): number => Number(value);
export const parseDate = (value: string): string => value;
