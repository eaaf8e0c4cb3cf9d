/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/** One column of a table: its header, how a row fills its cell, and how the cell is set. */
export interface Column<T> {
  header: Child;
  cell: (row: T) => Child;
  /** Right-aligned figures (`class="num"` on the header and the cells). */
  numeric?: boolean;
  /** Another class for the cells (`mono` for identifiers). */
  class?: string;
}

/**
 * The web app's tables: column headers scoped for screen readers, figures right-aligned, one row per item.
 * `rowAttributes` adds what tests and scripts find a row by (`data-alert-id`…); `empty`, when given, is shown
 * instead of a table without rows.
 */
export function Table<T>(props: {
  columns: Column<T>[];
  rows: readonly T[];
  rowAttributes?: (row: T) => Record<string, string>;
  caption?: Child;
  class?: string;
  empty?: Child;
}) {
  if (props.rows.length === 0 && props.empty !== undefined) return <>{props.empty}</>;
  return (
    <table class={props.class}>
      {props.caption === undefined ? null : <caption class="muted left">{props.caption}</caption>}
      <thead>
        <tr>
          {props.columns.map((col) => (
            <th scope="col" class={col.numeric ? 'num' : undefined}>
              {col.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr {...(props.rowAttributes?.(row) ?? {})}>
            {props.columns.map((col) => (
              <td class={col.numeric ? 'num' : col.class}>{col.cell(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
