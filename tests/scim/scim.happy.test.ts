import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../../src/people/repository.js';
import { alert, followUp } from '../follow-ups/fixtures.js';
import { makeAccount } from '../alerts/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * SCIM 2.0 as identity providers send it: the requests below are those Entra
 * ID and Okta make (bodies as they send them, application/scim+json).
 */
let s: TestServer;
let scim: string;
beforeAll(async () => {
  s = await startTestServer();
  scim = await s.keyWith('scim');
  await s.call('PUT', '/v1/admin/sso/group-roles', { body: { items: [{ group: 'Retention', roles: ['retention'] }, { group: 'CSMs', roles: ['csm'] }] } }).then((r) => r.text());
});
afterAll(() => s?.close());

const call = async (method: string, path: string, body?: unknown, key = scim) => {
  const res = await s.call(method, path, { key, body, headers: body ? { 'content-type': 'application/scim+json' } : {} });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null };
};
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('SCIM provisioning', () => {
  let userId: string;
  let groupId: string;

  it('creates a user as Entra ID does, after looking for it by userName', async () => {
    const miss = await call('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "riley@example.com"')}`);
    expect(miss).toMatchObject({ status: 200, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] } });
    const created = await call('POST', '/scim/v2/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      externalId: 'riley-0001',
      userName: 'Riley@example.com',
      active: true,
      displayName: 'Riley Chen',
      emails: [{ primary: true, type: 'work', value: 'Riley@example.com' }],
      name: { formatted: 'Riley Chen', familyName: 'Chen', givenName: 'Riley' },
      title: 'Retention specialist',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'CS' },
    });
    expect(created.status).toBe(201);
    expect(created.type).toContain('application/scim+json');
    expect(created.body).toMatchObject({ userName: 'riley@example.com', externalId: 'riley-0001', active: true, displayName: 'Riley Chen', meta: { resourceType: 'User' } });
    userId = created.body.id;
    const dup = await call('POST', '/scim/v2/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'riley@example.com', active: true });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' });
    for (const filter of ['userName eq "riley@example.com"', 'externalId eq "riley-0001"', 'displayName eq "Riley Chen"']) {
      const found = await call('GET', `/scim/v2/Users?filter=${encodeURIComponent(filter)}`);
      expect(found.body, filter).toMatchObject({ totalResults: 1, Resources: [{ id: userId }] });
    }
    const bad = await call('GET', `/scim/v2/Users?filter=${encodeURIComponent('title co "x"')}`);
    expect(bad).toMatchObject({ status: 400, body: { scimType: 'invalidFilter', status: '400' } });
  });

  it('pages with startIndex and count', async () => {
    for (let i = 0; i < 3; i++) expect((await call('POST', '/scim/v2/Users', { userName: `page${i}@example.com`, active: true })).status).toBe(201);
    const first = await call('GET', '/scim/v2/Users?startIndex=1&count=2');
    const second = await call('GET', '/scim/v2/Users?startIndex=3&count=2');
    expect(first.body).toMatchObject({ totalResults: 4, startIndex: 1, itemsPerPage: 2 });
    expect(second.body).toMatchObject({ totalResults: 4, startIndex: 3, itemsPerPage: 2 });
    const ids = [...first.body.Resources, ...second.body.Resources].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(4);
  });

  it('gives roles through group membership (Okta: create the group, then PATCH members in)', async () => {
    const group = await call('POST', '/scim/v2/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Retention', members: [] });
    expect(group.status).toBe(201);
    groupId = group.body.id;
    expect((await call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "Retention"')}`)).body).toMatchObject({ totalResults: 1 });
    const add = await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: userId, display: 'riley@example.com' }] }] });
    expect(add.status).toBe(200);
    expect(add.body.members).toEqual([expect.objectContaining({ value: userId })]);
    const person = await s.db.selectFrom('people').select(['roles', 'idp_groups']).where('id', '=', Number(userId)).executeTakeFirstOrThrow();
    expect(person).toEqual({ roles: ['retention'], idp_groups: ['Retention'] });
    // Entra ID removes a member with a filter in the path.
    const remove = await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: `members[value eq "${userId}"]` }] });
    expect(remove.status).toBe(200);
    expect((await s.db.selectFrom('people').select('roles').where('id', '=', Number(userId)).executeTakeFirstOrThrow()).roles).toEqual([]);
    await call('PATCH', `/scim/v2/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }] });
  });

  it('deactivates with PATCH active=false: sessions end at once, open alerts and follow-ups go back to the pools', async () => {
    const email = 'riley@example.com';
    expect((await s.call('PUT', '/v1/retention-pool/pool-a@example.com')).status).toBeLessThan(300);
    expect((await s.call('PUT', `/v1/retention-pool/${email}`)).status).toBeLessThan(300);
    const accountId = await makeAccount(s.db, { externalId: 'scim-acme' });
    const alertId = await alert(s.db, accountId, { assignee: email, openedAt: new Date().toISOString() });
    const followUpId = await followUp(s.db, { accountId, anchor: 'periodic:scim', dueAt: new Date(Date.now() + 86400e3).toISOString(), assignee: email });
    await createSession(s.db, Number(userId));
    // Entra ID sends the boolean as a string, in a value object; Okta as a path.
    const off = await call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect(await s.db.selectFrom('web_sessions').select('id_hash').where('person_id', '=', Number(userId)).execute()).toHaveLength(0);
    expect(await s.db.selectFrom('retention_pool').select('member').where('member', '=', email).execute()).toHaveLength(0);
    const a = await s.db.selectFrom('alerts').select(['assignee', 'assigned_via']).where('id', '=', alertId).executeTakeFirstOrThrow();
    expect(a).toEqual({ assignee: 'pool-a@example.com', assigned_via: 'pool' });
    expect((await s.db.selectFrom('follow_ups').select('assignee').where('id', '=', followUpId).executeTakeFirstOrThrow()).assignee).toBeNull();
    const on = await call('PATCH', `/scim/v2/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(on.body.active).toBe(true);
  });

  it('deletes groups and users; answers SCIM errors, and only to a key with the scim scope', async () => {
    expect((await call('DELETE', `/scim/v2/Groups/${groupId}`)).status).toBe(204);
    expect((await s.db.selectFrom('people').select('roles').where('id', '=', Number(userId)).executeTakeFirstOrThrow()).roles).toEqual([]);
    expect((await call('DELETE', `/scim/v2/Users/${userId}`)).status).toBe(204);
    const gone = await call('GET', `/scim/v2/Users/${userId}`);
    expect(gone).toMatchObject({ status: 404, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' } });
    const write = await s.keyWith('write');
    expect((await call('GET', '/scim/v2/Users', undefined, write)).status).toBe(403);
    expect((await s.call('GET', '/scim/v2/Users', { key: null })).status).toBe(401);
    // And a scim key reaches nothing else.
    expect((await call('GET', '/v1/accounts', undefined, scim)).status).toBe(403);
  });
});
