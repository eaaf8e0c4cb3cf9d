import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDb } from '../../src/db/postgres.js';
import { hashApiKey } from '../../src/auth/keys.js';
import { onServer } from '../support/db.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

let s: TestServer;
let key: string;
beforeAll(async () => {
  s = await startTestServer();
  key = await s.keyWith('ingest', 'write');
  await s.call('PUT', '/v1/accounts/acme', { key, body: { name: 'Acme' } });
});
afterAll(() => s.close());

const events = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ eventId: `${prefix}-${i}`, account: 'acme', occurredAt: '2026-11-01T00:00:00Z', metric: 'login' }));
const post = (idempotencyKey: string, body: unknown, apiKey = key) =>
  s.call('POST', '/v1/usage/batch', { key: apiKey, body, headers: { 'idempotency-key': idempotencyKey } });
const countEvents = async (prefix: string) =>
  (await s.db.selectFrom('usage_events').select((eb) => eb.fn.countAll<number>().as('n')).where('event_id', 'like', `${prefix}-%`).executeTakeFirstOrThrow()).n;

describe('Idempotency-Key', () => {
  it('the same key and body replay the stored response', async () => {
    const body = { items: events('replay', 3) };
    const first = await post('k-replay', body);
    expect(first.status).toBe(200);
    const firstBody = await first.text();
    const second = await post('k-replay', body);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    // The replay is the first response, word for word: it says `created`, not `unchanged`.
    expect(await second.text()).toBe(firstBody);
    expect(JSON.parse(firstBody).summary.created).toBe(3);
    expect(await countEvents('replay')).toBe(3);
  });

  it('the same key with another body is refused with 422', async () => {
    await post('k-other', { items: events('other', 1) });
    await expectProblem(await post('k-other', { items: events('other', 2) }), 422, 'unprocessable');
    expect(await countEvents('other')).toBe(1);
  });

  it('keys belong to one API key: another API key may use the same value', async () => {
    const otherKey = await s.keyWith('ingest');
    await post('k-shared', { items: events('shared-a', 1) });
    const res = await post('k-shared', { items: events('shared-b', 1) }, otherKey);
    expect(res.status).toBe(200);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
  });

  it('an error response is not stored: a corrected request may reuse the key', async () => {
    await expectProblem(await post('k-fix', { items: [] }), 400, 'validation_failed');
    const fixed = await post('k-fix', { items: events('fixed', 1) });
    expect(fixed.status).toBe(200);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a request still in flight in this process makes a second one get 409', async () => {
    // Insert the first request's first event, uncommitted, so the request blocks inside its transaction
    // on that key (intake appends everything else, so nothing else would hold it up); on the embedded
    // database the held transaction blocks its only connection. Rolled back afterwards.
    const { id: accountId } = await s.db.selectFrom('accounts').select('id').where('external_id', '=', 'acme').executeTakeFirstOrThrow();
    await post('k-warm', { items: events('warm', 1) }); // the key is now cached, so auth needs no query
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const first0 = events('slow', 1)[0]!;
    const holder = s.db
      .transaction()
      .execute(async (trx) => {
        await trx
          .insertInto('usage_events')
          .values({ account_id: accountId, event_id: first0.eventId, occurred_at: new Date(first0.occurredAt), metric: first0.metric, quantity: 1 })
          .execute();
        locked();
        await gate;
        throw new Error('roll back');
      })
      .catch(() => {});
    await isLocked;
    // The same request twice at once: whichever of the two claims the key first is held up behind the
    // transaction above, so the one that answers while it is held is the other, and it must be a 409.
    const both = [post('k-slow', { items: events('slow', 2) }), post('k-slow', { items: events('slow', 2) })];
    try {
      await expectProblem(await Promise.race(both), 409, 'conflict');
    } finally {
      release();
      await holder;
    }
    const [a, b] = await Promise.all(both);
    expect([a!.status, b!.status].sort()).toEqual([200, 409]);
    expect(await countEvents('slow')).toBe(2);
  });

  it.runIf(onServer())('a request in flight in another replica makes a second one get 409', async () => {
    const replicaKey = await s.keyWith('ingest');
    const { id: apiKeyId } = await s.db
      .selectFrom('api_keys')
      .select('id')
      .where('key_hash', '=', await hashApiKey(replicaKey))
      .executeTakeFirstOrThrow();
    // Another replica's running request holds the key's row in an open transaction.
    const other = createPostgresDb({ url: s.database.url!, max: 1 });
    let crash!: () => void;
    const crashed = new Promise<void>((r) => (crash = r));
    let holding!: () => void;
    const isHolding = new Promise<void>((r) => (holding = r));
    const replica = other.db.transaction().execute(async (trx) => {
      await sql`insert into idempotency_keys (api_key_id, idempotency_key, request_hash, response_status, response_body, expires_at)
                values (${apiKeyId}, 'k-replica', 'x', 0, '', now() + interval '1 hour')`.execute(trx);
      holding();
      await crashed;
      throw new Error('the other replica died mid-request');
    });
    await isHolding;
    try {
      await expectProblem(await post('k-replica', { items: events('replica', 1) }, replicaKey), 409, 'conflict');
    } finally {
      crash();
      await replica.catch(() => undefined);
      await other.close();
    }
    // The dead replica's transaction left nothing behind: the retry runs.
    const retry = await post('k-replica', { items: events('replica', 1) }, replicaKey);
    expect(retry.status).toBe(200);
    expect(await countEvents('replica')).toBe(1);
  });

  it('a key is kept at least 24 hours', async () => {
    await post('k-ttl', { items: events('ttl', 1) });
    const row = await s.db
      .selectFrom('idempotency_keys')
      .select(sql<number>`extract(epoch from expires_at - created_at)::int`.as('ttl'))
      .where('idempotency_key', '=', 'k-ttl')
      .executeTakeFirstOrThrow();
    expect(row.ttl).toBeGreaterThanOrEqual(24 * 3600);
  });

  it('an invalid key value is a 400', async () => {
    await expectProblem(await post('has space', { items: events('bad-key', 1) }), 400, 'validation_failed');
    await expectProblem(await post('x'.repeat(256), { items: events('bad-key', 1) }), 400, 'validation_failed');
  });
});

describe('routes whose responses carry secrets', () => {
  it('do not store their response under an Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'k-secret' };
    const first = await s.call('POST', '/v1/admin/keys', { key: s.adminKey, body: { name: 'x', scopes: ['read'] }, headers });
    const second = await s.call('POST', '/v1/admin/keys', { key: s.adminKey, body: { name: 'x', scopes: ['read'] }, headers });
    const a = (await first.json()) as { key: string };
    const b = (await second.json()) as { key: string };
    expect(a.key).not.toBe(b.key);
    const stored = await s.db.selectFrom('idempotency_keys').select('response_body').execute();
    expect(stored.some((r) => r.response_body.includes(a.key))).toBe(false);
  });
});
