import { sql } from 'kysely';

/**
 * A JSON value for a jsonb column. Sent as text and cast in SQL, because
 * postgres.js would otherwise JSON-encode an already encoded string a second
 * time while PGlite would not: this reads the same on both.
 */
export const jsonb = <T extends object>(value: T) => sql<T>`cast(${JSON.stringify(value)}::text as jsonb)`;

/**
 * Booleans for an array parameter, as text: postgres.js types a JS boolean
 * array as a scalar boolean, which PostgreSQL will not cast to boolean[].
 * Cast in SQL with `::text[]::bool[]`.
 */
export const boolArray = (values: boolean[]) => values.map((v) => (v ? 't' : 'f'));
