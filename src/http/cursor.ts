import { z } from 'zod';
import { base64Url } from '../encoding.js';

/**
 * Keyset cursors, the one encoding every paged list uses: base64url (no
 * padding) of a JSON array holding the last row's sort key. A cursor is data
 * the client hands back, so it is parsed as strictly as any other input.
 */

/** What a part of a sort key may be: a non-negative safe integer, a string, or either (a number or a string). */
type PartKind = 'int' | 'string' | 'scalar';
type PartOf<K extends PartKind> = K extends 'int' ? number : K extends 'string' ? string : number | string;
export type Keyset<S extends readonly PartKind[]> = { -readonly [I in keyof S]: PartOf<S[I]> };

const NOT_OURS = 'not a cursor this API issued; start again without one';
const DESCRIPTION = 'Opaque cursor from a previous page’s `nextCursor`';
/** base64url of a JSON array: what every cursor looks like (only the API's own decode, though). */
const CURSOR_PATTERN = '^W[A-Za-z0-9_-]*$';

export const encodeKeyset = (key: readonly (number | string)[]): string => base64Url(new TextEncoder().encode(JSON.stringify(key)));

const fits = (kind: PartKind, v: unknown) =>
  kind === 'int'
    ? Number.isSafeInteger(v) && (v as number) >= 0
    : kind === 'string'
      ? typeof v === 'string'
      : typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** The sort key in a cursor of this shape; undefined when it is not one we issued. */
export function decodeKeyset<const S extends readonly PartKind[]>(cursor: string, shape: S): Keyset<S> | undefined {
  try {
    const bytes = Uint8Array.from(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (Array.isArray(value) && value.length === shape.length && shape.every((kind, i) => fits(kind, value[i]))) return value as Keyset<S>;
  } catch {
    // fall through: not a cursor we issued
  }
  return undefined;
}

/** A query parameter holding a cursor of this shape, parsed to its sort key (400 when it is not ours). */
export const keysetCursorSchema = <const S extends readonly PartKind[]>(shape: S, maxLength = 500) =>
  z
    .string()
    .max(maxLength)
    .transform((value, ctx) => {
      const key = decodeKeyset(value, shape);
      if (key === undefined) {
        ctx.addIssue({ code: 'custom', message: NOT_OURS });
        return z.NEVER;
      }
      return key;
    })
    .meta({ description: DESCRIPTION, pattern: CURSOR_PATTERN, 'x-rule': NOT_OURS });

/** The position in a change feed or an id-ordered list: (sequence, id); lists by id alone use seq 0. */
export type FeedPosition = { seq: number; id: number };

export const encodeCursor = (position: FeedPosition): string => encodeKeyset([position.seq, position.id]);

export function decodeCursor(cursor: string): FeedPosition | undefined {
  const key = decodeKeyset(cursor, ['int', 'int']);
  return key && { seq: key[0], id: key[1] };
}

export const feedCursorSchema = keysetCursorSchema(['int', 'int'], 200)
  .transform(([seq, id]): FeedPosition => ({ seq, id }))
  .meta({ description: DESCRIPTION, pattern: CURSOR_PATTERN, 'x-rule': NOT_OURS });
