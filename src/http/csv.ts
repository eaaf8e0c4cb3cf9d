import { stringify } from 'csv-stringify/sync';

/**
 * CSV for exports: written by csv-stringify (quoting, embedded newlines), with
 * spreadsheet formulas neutralised. A text cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return would run as a formula in Excel, Sheets
 * or LibreOffice (CSV injection); it gets a leading `'`, which spreadsheets
 * show as text and do not display. Numbers are written as numbers.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export const neutraliseFormula = (value: string) => (FORMULA_START.test(value) ? `'${value}` : value);

const cell = (value: unknown): string | number => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.toISOString();
  return neutraliseFormula(typeof value === 'object' ? JSON.stringify(value) : String(value));
};

/** A header line, then one line per row with the given columns, in that order. */
export function toCsv<Row extends Record<string, unknown>>(rows: readonly Row[], columns: readonly (keyof Row & string)[]): string {
  return stringify(
    rows.map((row) => columns.map((column) => cell(row[column]))),
    { header: true, columns: columns.map((c) => neutraliseFormula(c)), record_delimiter: 'unix' },
  );
}

/** One record, no header, CRLF-terminated (RFC 4180): for exports written page by page (the web app's portfolio.csv). */
export const csvLine = (values: readonly unknown[]): string => stringify([values.map(cell)], { record_delimiter: 'windows' });
