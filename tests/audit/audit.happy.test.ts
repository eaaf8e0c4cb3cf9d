import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SET } from '../../src/alerts/rules.js';
import { pruneAudit } from '../../src/audit/repository.js';
import { DEFAULT_SCORECARD } from '../../src/scoring/scorecard.js';
import { alert, followUp } from '../follow-ups/fixtures.js';
import { makeAccount } from '../alerts/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Every change issue 25 lists leaves an audit entry (who, when, from where,
 * before and after), written in the transaction of the change.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.close());

type Entry = { id: number; action: string; actorType: string; actorId: string | null; actorName: string | null; ip: string | null; userAgent: string | null; targetType: string; targetId: string | null; before: Record<string, unknown> | null; after: Record<string, unknown> | null };

async function entries(query = ''): Promise<Entry[]> {
  const res = await s.call('GET', `/v1/audit?limit=1000${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Entry[] }).items;
}

const adminKeyId = async () => String((await s.db.selectFrom('api_keys').select('id').where('name', '=', 'test-admin').executeTakeFirstOrThrow()).id);

async function expectEntry(action: string, targetId?: string) {
  const found = (await entries(`&action=${encodeURIComponent(action)}`)).filter((e) => targetId === undefined || e.targetId === targetId);
  expect(found.length, `${action} ${targetId ?? ''}`).toBeGreaterThan(0);
  return found.at(-1)!;
}

describe('the audit trail', () => {
  it('records API keys created and revoked, with the key that did it, its address and user agent', async () => {
    const res = await s.call('POST', '/v1/admin/keys', { body: { name: 'crm-sync', scopes: ['read'] }, headers: { 'user-agent': 'audit-test/1' } });
    const key = (await res.json()) as { id: number; key: string };
    expect(res.status).toBe(201);
    const created = await expectEntry('api_key.created', String(key.id));
    expect(created).toMatchObject({ actorType: 'key', actorId: await adminKeyId(), actorName: 'test-admin', ip: '127.0.0.1', userAgent: 'audit-test/1', before: null });
    expect(created.after).toMatchObject({ name: 'crm-sync', scopes: ['read'] });
    expect(JSON.stringify(created)).not.toContain(key.key);
    expect((await s.call('DELETE', `/v1/admin/keys/${key.id}`)).status).toBe(204);
    const revoked = await expectEntry('api_key.revoked', String(key.id));
    expect(revoked.before).toMatchObject({ revoked_at: null });
    expect(revoked.after!.revoked_at).not.toBeNull();
  });

  it('records scorecards drafted, fitted and activated', async () => {
    const res = await s.call('POST', '/v1/scorecards', { body: { segment: 'smb', definition: DEFAULT_SCORECARD } });
    expect(res.status).toBe(201);
    const card = (await res.json()) as { id: number };
    expect((await expectEntry('scorecard.created', String(card.id))).after).toMatchObject({ active: false, segment_key: 'smb' });
    expect((await s.call('POST', `/v1/scorecards/${card.id}/activate`)).status).toBe(200);
    const activated = await expectEntry('scorecard.activated', String(card.id));
    expect(activated).toMatchObject({ before: { active: false }, after: { active: true }, actorType: 'key' });
    // A fit stores its report beside its draft (POST /v1/scorecards/fit needs 100 outcomes; the record is the report's insert).
    await s.db.insertInto('scorecard_reports').values({ kind: 'fit', scorecard_id: card.id, definition: sql`'{}'::jsonb`, options: sql`'{"horizonDays":90}'::jsonb`, report: sql`'{}'::jsonb` } as never).execute();
    expect((await expectEntry('scorecard.fitted', String(card.id))).after).toMatchObject({ kind: 'fit', scorecard_id: card.id });
  });

  it('records alert rules created and activated', async () => {
    const res = await s.call('POST', '/v1/alert-rules', { body: { definition: DEFAULT_RULE_SET } });
    expect(res.status).toBe(201);
    const set = (await res.json()) as { id: number };
    await expectEntry('alert_rule_set.created', String(set.id));
    expect((await s.call('POST', `/v1/alert-rules/${set.id}/activate`)).status).toBe(200);
    await expectEntry('alert_rule_set.activated', String(set.id));
  });

  it('records alert reassignments and resolutions, and follow-up reassignments, by people and keys (not the system)', async () => {
    const accountId = await makeAccount(s.db, { externalId: 'audit-acme' });
    const alertId = await alert(s.db, accountId, { assignee: 'ana@example.com', openedAt: new Date().toISOString() });
    expect((await s.call('POST', `/v1/alerts/${alertId}/assign`, { body: { assignee: 'bo@example.com' } })).status).toBe(200);
    const reassigned = await expectEntry('alert.reassigned', String(alertId));
    expect(reassigned).toMatchObject({ before: { assignee: 'ana@example.com' }, after: { assignee: 'bo@example.com' } });
    expect((await s.call('POST', `/v1/alerts/${alertId}/resolve`, { body: { outcome: 'saved', note: 'called them' } })).status).toBe(200);
    const resolved = await expectEntry('alert.resolved', String(alertId));
    expect(resolved.after).toMatchObject({ status: 'resolved', outcome: 'saved' });
    // Free text of the account stays out of the trail (erasure cannot reach it there).
    expect(JSON.stringify(resolved)).not.toContain('called them');

    const followUpId = await followUp(s.db, { accountId, anchor: 'periodic:audit', dueAt: new Date(Date.now() + 86400e3).toISOString() });
    const assign = await s.call('POST', `/v1/follow-ups/${followUpId}/assign`, { body: { assignee: 'cy@example.com' } });
    expect(assign.status).toBe(200);
    await expectEntry('follow_up.reassigned', String(followUpId));
    // The same change made outside a request (scoring, the planner) is not an entry.
    const before = (await entries('&targetType=alert')).length;
    await s.db.updateTable('alerts').set({ assignee: 'dee@example.com' }).where('id', '=', alertId).execute();
    expect((await entries('&targetType=alert')).length).toBe(before);
  });

  it('records webhook subscriptions and notification channels, never their secrets', async () => {
    const sub = await s.call('POST', '/v1/webhooks/subscriptions', { body: { url: 'https://example.com/hook', eventTypes: ['churn_risk.opened'] } });
    expect(sub.status).toBe(201);
    const { id, secret } = (await sub.json()) as { id: number; secret: string };
    const entry = await expectEntry('webhook_subscription.created', String(id));
    expect(entry.after).toMatchObject({ secret: '[redacted]', event_types: ['churn_risk.opened'] });
    expect(JSON.stringify(entry)).not.toContain(secret);
    const rotated = await s.call('POST', `/v1/webhooks/subscriptions/${id}/secret`, { body: {} });
    expect(rotated.status).toBeLessThan(300);
    expect((await expectEntry('webhook_subscription.updated', String(id))).after).toMatchObject({ secret: '[redacted: changed]' });

    const channel = await s.call('POST', '/v1/notifications/channels', { body: { name: 'team-room', kind: 'teams', url: 'https://example.webhook.office.com/webhookb2/abc' } });
    expect(channel.status).toBe(201);
    const ch = (await channel.json()) as { id: number };
    await expectEntry('notification_channel.created', String(ch.id));
  });

  it('records roles and people, and the settings of single sign-on', async () => {
    const put = await s.call('PUT', '/v1/admin/sso/group-roles', { body: { items: [{ group: 'cs-team', roles: ['csm'] }] } });
    expect(put.status).toBe(200);
    expect((await expectEntry('sso_group_mapping.created', 'cs-team')).after).toMatchObject({ roles: ['csm'] });
    const scim = await s.keyWith('scim');
    const user = await s.call('POST', '/scim/v2/Users', { key: scim, body: { userName: 'erin@example.com', displayName: 'Erin', active: true } });
    expect(user.status).toBe(201);
    const { id } = (await user.json()) as { id: string };
    const created = await expectEntry('person.created', id);
    expect(created).toMatchObject({ actorType: 'key', actorName: 'test-scim', after: { roles: [], source: 'scim' } });
    // No names or emails of people in the trail: they are looked up when read.
    expect(JSON.stringify(created.after)).not.toContain('erin');
    const group = await s.call('POST', '/scim/v2/Groups', { key: scim, body: { displayName: 'cs-team', members: [{ value: id }] } });
    expect(group.status).toBe(201);
    expect((await expectEntry('person.roles_changed', id)).after).toMatchObject({ roles: ['csm'] });
    const off = await s.call('PATCH', `/scim/v2/Users/${id}`, { key: scim, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] } });
    expect(off.status).toBe(200);
    await expectEntry('person.deactivated', id);
  });

  it('records erasures and imports without personal data', async () => {
    await makeAccount(s.db, { externalId: 'audit-erase-me' });
    const res = await s.call('DELETE', '/v1/accounts/audit-erase-me?erase=true');
    expect(res.status).toBe(200);
    const erased = await expectEntry('account.erased');
    expect(JSON.stringify(erased)).not.toContain('audit-erase-me');
  });

  it('serves the feed by cursor, oldest first, and as CSV', async () => {
    const first = await s.call('GET', '/v1/audit?limit=2');
    const page = (await first.json()) as { items: Entry[]; nextCursor: string };
    expect(page.items).toHaveLength(2);
    const next = (await (await s.call('GET', `/v1/audit?limit=2&cursor=${page.nextCursor}`)).json()) as { items: Entry[] };
    expect(next.items[0]!.id).toBeGreaterThan(page.items[1]!.id);
    const csv = await s.call('GET', '/v1/audit?format=csv&action=api_key.');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toContain('actorType');
    expect(lines.length).toBeGreaterThan(2);
    const other = await s.keyWith('write');
    expect((await s.call('GET', '/v1/audit', { key: other })).status).toBe(403);
  });

  it('a refused request leaves no entry, and a retention prune deletes only old entries', async () => {
    const count = async () => Number((await s.db.selectFrom('audit_log').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    expect((await s.call('POST', '/v1/admin/keys', { body: { name: '', scopes: ['read'] } })).status).toBe(400);
    expect(await count()).toBe(before);
    expect(await pruneAudit(s.db, 30)).toBe(0);
    expect(await count()).toBe(before);
  });
});
