import { z } from 'zod';
import { decodeJsonCursor, encodeJsonCursor } from '../encoding.js';

/**
 * Keyset cursors: an opaque base64url of the last row's sort key. A cursor is
 * data the client hands back, so it is parsed as strictly as any other input.
 */
export type FeedPosition = { seq: number; id: number };

export function encodeCursor(position: FeedPosition): string {
  return encodeJsonCursor([position.seq, position.id]);
}

export function decodeCursor(cursor: string): FeedPosition | undefined {
  try {
    const value = decodeJsonCursor(cursor);
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      value.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
    ) {
      return { seq: value[0] as number, id: value[1] as number };
    }
  } catch {
    // fall through: not a cursor we issued
  }
  return undefined;
}

export const feedCursorSchema = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const position = decodeCursor(value);
    if (!position) {
      ctx.addIssue({ code: 'custom', message: 'not a cursor this API issued; start again without one' });
      return z.NEVER;
    }
    return position;
  })
  .meta({ description: 'Opaque cursor from a previous page’s `nextCursor`' });
