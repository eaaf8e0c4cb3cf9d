import { describe, expect, it } from 'vitest';
import { decodeCursor, decodeKeyset, encodeCursor, encodeKeyset, feedCursorSchema, keysetCursorSchema } from '../../src/http/cursor.js';

/** What every feed issued before the shared encoder: base64url (no padding) of the JSON array, as latin-1 bytes for ASCII. */
const oldCursor = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('keyset cursors (src/http/cursor.ts): one wire format for every list', () => {
  it('round-trips sort keys of every shape the lists use', () => {
    expect(decodeCursor(encodeCursor({ seq: 1_733_000_000_123, id: 42 }))).toEqual({ seq: 1_733_000_000_123, id: 42 });
    expect(decodeKeyset(encodeKeyset(['2026-11-30', 7, 'contract:c-1']), ['string', 'int', 'string'])).toEqual(['2026-11-30', 7, 'contract:c-1']);
    expect(decodeKeyset(encodeKeyset([38.5, 9]), ['scalar', 'int'])).toEqual([38.5, 9]);
    expect(decodeKeyset(encodeKeyset(['Beta GmbH', 9]), ['scalar', 'int'])).toEqual(['Beta GmbH', 9]);
  });

  it('keeps the wire format: cursors clients already hold still decode, and new ones are byte-for-byte the same', () => {
    for (const value of [[5, 17], ['2026-01-02', 3, 'lifecycle'], [0, 99]]) {
      expect(encodeKeyset(value as (string | number)[])).toBe(oldCursor(value));
    }
    expect(decodeCursor(oldCursor([12, 34]))).toEqual({ seq: 12, id: 34 });
  });

  it('reads non-ASCII sort keys back as they were (UTF-8)', () => {
    expect(decodeKeyset(encodeKeyset(['华东区客户', 3]), ['scalar', 'int'])).toEqual(['华东区客户', 3]);
  });

  it('refuses what it did not issue', () => {
    for (const bad of ['', 'not-base64!', oldCursor({ seq: 1, id: 2 }), oldCursor([1]), oldCursor([-1, 2]), oldCursor([1.5, 2]), oldCursor(['1', 2])]) {
      expect(decodeCursor(bad), bad).toBeUndefined();
    }
    expect(decodeKeyset(oldCursor([1, 2, 3]), ['string', 'int', 'string'])).toBeUndefined();
    expect(feedCursorSchema.safeParse(oldCursor(['x', 1])).success).toBe(false);
    const parsed = keysetCursorSchema(['string', 'int', 'string']).safeParse('%%%');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/not a cursor this API issued/);
  });
});
