import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const account = (i: number, extra: Record<string, unknown> = {}) => ({
  externalId: `acct-${i}`,
  name: `Account ${i}`,
  segment: i % 2 ? 'enterprise' : 'smb',
  tier: i % 3 ? 'gold' : 'silver',
  owner: `csm-${i % 4}@example.com`,
  seats: 10 + i,
  arr: 1000 + i + 0.5,
  currency: 'EUR',
  timezone: 'Europe/Berlin',
  renewalDate: '2027-03-01',
  attributes: { region: 'emea', i },
  ...extra,
});

describe('PUT /v1/accounts/{externalId}', () => {
  it('creates, then reports unchanged for the same body, then updated for a new one', async () => {
    const { externalId, ...body } = account(1);
    const created = await s.call('PUT', `/v1/accounts/${externalId}`, { body });
    expect(created.status).toBe(201);
    const first = (await created.json()) as { result: string; account: Record<string, unknown> };
    expect(first.result).toBe('created');
    expect(first.account).toMatchObject({ externalId, seats: 11, arr: 1001.5, renewalDate: '2027-03-01', attributes: { region: 'emea', i: 1 } });

    const again = await s.call('PUT', `/v1/accounts/${externalId}`, { body });
    expect(again.status).toBe(200);
    const second = (await again.json()) as { result: string; account: { updatedAt: string } };
    expect(second.result).toBe('unchanged');
    expect(second.account.updatedAt).toBe((first.account as { updatedAt: string }).updatedAt);

    const changed = await s.call('PUT', `/v1/accounts/${externalId}`, { body: { ...body, seats: 99 } });
    expect(((await changed.json()) as { result: string }).result).toBe('updated');
    const got = (await (await s.call('GET', `/v1/accounts/${externalId}`)).json()) as { seats: number };
    expect(got.seats).toBe(99);
  });

  it('treats a PUT as a replacement: omitted optional fields become null', async () => {
    await s.call('PUT', '/v1/accounts/replace-me', { body: { name: 'R', tier: 'gold' } });
    await s.call('PUT', '/v1/accounts/replace-me', { body: { name: 'R' } });
    const got = (await (await s.call('GET', '/v1/accounts/replace-me')).json()) as { tier: string | null };
    expect(got.tier).toBeNull();
  });
});

describe('DELETE /v1/accounts/{externalId}', () => {
  it('archives; the account leaves listings but stays readable, and a PUT restores it', async () => {
    await s.call('PUT', '/v1/accounts/to-archive', { body: { name: 'Gone soon', segment: 'archive-test' } });
    const archived = (await (await s.call('DELETE', '/v1/accounts/to-archive')).json()) as { archivedAt: string | null };
    expect(archived.archivedAt).not.toBeNull();
    const again = (await (await s.call('DELETE', '/v1/accounts/to-archive')).json()) as { archivedAt: string | null };
    expect(again.archivedAt).toBe(archived.archivedAt);

    const listed = (await (await s.call('GET', '/v1/accounts?segment=archive-test')).json()) as { items: unknown[] };
    expect(listed.items).toHaveLength(0);
    const withArchived = (await (await s.call('GET', '/v1/accounts?segment=archive-test&include_archived=true')).json()) as { items: unknown[] };
    expect(withArchived.items).toHaveLength(1);

    const restored = (await (await s.call('PUT', '/v1/accounts/to-archive', { body: { name: 'Gone soon', segment: 'archive-test' } })).json()) as {
      result: string;
      account: { archivedAt: string | null };
    };
    expect(restored).toMatchObject({ result: 'updated', account: { archivedAt: null } });
  });
});

describe('POST /v1/accounts/batch', () => {
  it('re-sending the same 1,000-account batch reports all 1,000 unchanged', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => account(1000 + i));
    const first = (await (await s.call('POST', '/v1/accounts/batch', { body: { items } })).json()) as {
      summary: Record<string, number>;
      results: { result: string }[];
    };
    expect(first.summary).toEqual({ created: 1000, updated: 0, unchanged: 0, error: 0 });

    const second = (await (await s.call('POST', '/v1/accounts/batch', { body: { items } })).json()) as {
      summary: Record<string, number>;
      results: { index: number; result: string }[];
    };
    expect(second.summary).toEqual({ created: 0, updated: 0, unchanged: 1000, error: 0 });
    expect(second.results.every((r, i) => r.index === i && r.result === 'unchanged')).toBe(true);
  });

  it('stores the good items of a batch with bad ones and reports each in order', async () => {
    const items = [
      account(5001),
      { externalId: 'bad-seats', name: 'x', seats: -3 },
      account(5002, { arr: 1 }),
      { name: 'no id' },
      account(5001, { name: 'duplicate in batch' }),
      'not an object',
    ];
    const res = await s.call('POST', '/v1/accounts/batch', { body: { items } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { summary: Record<string, number>; results: { index: number; result: string; externalId: string | null; errors?: { field: string }[] }[] };
    expect(body.results.map((r) => r.result)).toEqual(['created', 'error', 'created', 'error', 'error', 'error']);
    expect(body.results[1]!.errors![0]!.field).toBe('seats');
    expect(body.results[3]!.errors![0]!.field).toBe('externalId');
    expect(body.results[4]!.errors![0]!.field).toBe('externalId');
    expect(body.summary).toEqual({ created: 2, updated: 0, unchanged: 0, error: 4 });
    expect((await s.call('GET', '/v1/accounts/acct-5002')).status).toBe(200);
    expect((await s.call('GET', '/v1/accounts/bad-seats')).status).toBe(404);
  });
});

describe('GET /v1/accounts', () => {
  beforeAll(async () => {
    const items = Array.from({ length: 60 }, (_, i) => account(i, { segment: 'paging', owner: i % 2 ? 'ana' : 'bo', tier: i % 3 ? 'gold' : 'silver' }));
    await s.call('POST', '/v1/accounts/batch', { body: { items: items.map((a) => ({ ...a, externalId: `page-${a.externalId}` })) } });
  });

  const pageAll = async (query: string, limit: number, between?: (page: number, seenSoFar: number) => Promise<void>) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const res = await s.call('GET', `/v1/accounts?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: { externalId: string }[]; nextCursor: string | null; hasMore: boolean };
      seen.push(...body.items.map((a) => a.externalId));
      cursor = body.nextCursor;
      if (!body.hasMore) break;
      await between?.(page, seen.length);
    }
    return seen;
  };

  it('filters by segment, owner and tier', async () => {
    const ana = await pageAll('segment=paging&owner=ana&tier=gold', 100);
    const expected = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 2 === 1 && i % 3 !== 0);
    expect(ana.sort()).toEqual(expected.map((i) => `page-acct-${i}`).sort());
  });

  it('filters by updated_since', async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    const res = (await (await s.call('GET', `/v1/accounts?segment=paging&updated_since=${encodeURIComponent(future)}`)).json()) as { items: unknown[] };
    expect(res.items).toHaveLength(0);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const all = (await (await s.call('GET', `/v1/accounts?segment=paging&updated_since=${encodeURIComponent(past)}&limit=100`)).json()) as { items: unknown[] };
    expect(all.items).toHaveLength(60);
  });

  it('pages completely while rows change: every account once, and a row changed behind the cursor again', async () => {
    const changedBehind: { id: string; at: number }[] = [];
    const seen = await pageAll('segment=paging', 7, async (page, seenSoFar) => {
      // One row already passed (it must come round again) and one not reached yet.
      for (const i of [page, 59 - page]) {
        const { externalId, ...body } = account(i, { segment: 'paging', name: `renamed ${page}` });
        await s.call('PUT', `/v1/accounts/page-${externalId}`, { body });
      }
      changedBehind.push({ id: `page-acct-${page}`, at: seenSoFar });
    });
    expect(new Set(seen).size).toBe(60);
    expect(changedBehind.length).toBeGreaterThan(3);
    for (const { id, at } of changedBehind) {
      expect(seen.indexOf(id)).toBeLessThan(at);
      expect(seen.lastIndexOf(id)).toBeGreaterThanOrEqual(at);
    }
  });

  it('a finished sync resumes from its last cursor and sees only later changes', async () => {
    let res = (await (await s.call('GET', '/v1/accounts?segment=paging&limit=1000')).json()) as { nextCursor: string; hasMore: boolean };
    expect(res.hasMore).toBe(false);
    const resume = res.nextCursor;
    await s.call('PUT', '/v1/accounts/page-acct-3', { body: { name: 'touched after sync', segment: 'paging' } });
    const next = (await (await s.call('GET', `/v1/accounts?segment=paging&cursor=${resume}`)).json()) as { items: { externalId: string; name: string }[] };
    expect(next.items.map((a) => [a.externalId, a.name])).toEqual([['page-acct-3', 'touched after sync']]);
  });
});
