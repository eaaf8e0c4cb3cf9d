import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_LIMITS } from '../../src/people/repository.js';
import { Client, emailOf, PASSWORD, seed, startWebServer, type WebServer } from './support.js';

let server: WebServer;

beforeAll(async () => {
  server = await startWebServer();
  await seed(server.db);
});
afterAll(() => server?.close());

describe('CSRF', () => {
  it('refuses a form without the token, with a wrong token, or from another site', async () => {
    const client = new Client(server.url);
    await client.signIn(emailOf('admin'));
    await client.get('/admin');
    const before = await server.db.selectFrom('api_keys').select('id').execute();
    expect((await client.post('/admin/keys', { name: 'x', scope_read: '1' }, { csrf: null })).status).toBe(403);
    expect((await client.post('/admin/keys', { name: 'x', scope_read: '1' }, { csrf: 'A'.repeat(43) })).status).toBe(403);
    const crossSite = await client.post('/admin/keys', { name: 'x', scope_read: '1' }, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await client.post('/admin/keys', { name: 'x', scope_read: '1' }, { headers: { origin: 'https://evil.example' } });
    expect(otherOrigin.status).toBe(403);
    expect(await server.db.selectFrom('api_keys').select('id').execute()).toHaveLength(before.length);
    // the same form with the page's token works
    expect((await client.post('/admin/keys', { name: 'x', scope_read: '1' })).status).toBe(201);
  });

  it('refuses sign-in and sign-out without the token', async () => {
    const client = new Client(server.url);
    await client.get('/sign-in');
    expect((await client.post('/sign-in', { email: emailOf('csm'), password: PASSWORD }, { csrf: null })).status).toBe(403);
    await client.signIn(emailOf('csm'));
    expect((await client.post('/sign-out', {}, { csrf: null })).status).toBe(403);
    expect((await client.get('/portfolio')).status).toBe(200);
  });

  it('one person’s token does not work in another person’s session', async () => {
    const alice = new Client(server.url);
    const bob = new Client(server.url);
    await alice.signIn(emailOf('admin'));
    await bob.signIn(emailOf('manager'));
    await alice.get('/admin');
    expect((await alice.post('/admin/keys', { name: 'y', scope_read: '1' }, { csrf: bob.csrf })).status).toBe(403);
  });
});

describe('sessions and cookies', () => {
  it('a session id the browser brought is never adopted: signing in issues a new one, and the old one stops working', async () => {
    const client = new Client(server.url);
    client.cookies.set('hs_session', 'attacker-chosen-session-id-000000000000000');
    await client.get('/sign-in');
    await client.signIn(emailOf('csm'));
    const first = client.cookies.get('hs_session')!;
    expect(first).not.toBe('attacker-chosen-session-id-000000000000000');
    // signing in again (same browser) rotates the id; the previous one is dead
    await client.get('/sign-in?next=/portfolio');
    const again = await client.post('/sign-in', { email: emailOf('csm'), password: PASSWORD });
    expect(again.status).toBe(303);
    const second = client.cookies.get('hs_session')!;
    expect(second).not.toBe(first);
    const stale = await fetch(`${server.url}/portfolio`, { headers: { cookie: `hs_session=${first}` }, redirect: 'manual' });
    expect(stale.status).toBe(303);
    // only a hash of the id is stored
    const stored = await server.db.selectFrom('web_sessions').select('id_hash').execute();
    expect(stored.map((s) => s.id_hash)).not.toContain(second);
  });

  it('cookies are HttpOnly, SameSite=Lax, path /, and Secure behind HTTPS', async () => {
    const client = new Client(server.url);
    await client.get('/sign-in');
    const res = await fetch(`${server.url}/sign-in`, {
      method: 'POST',
      headers: { cookie: client.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      body: new URLSearchParams({ _csrf: client.csrf, email: emailOf('csm'), password: PASSWORD }),
      redirect: 'manual',
    });
    const session = res.headers.getSetCookie().find((c) => c.startsWith('hs_session='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).toMatch(/; Path=\//);
    expect(session).toMatch(/; Secure/);
    const plain = new Client(server.url);
    const pre = await fetch(`${server.url}/sign-in`, { redirect: 'manual' });
    expect(pre.headers.getSetCookie().find((c) => c.startsWith('hs_presession='))).toMatch(/HttpOnly; SameSite=Lax/);
    expect(plain).toBeDefined();
  });

  it('pages are not cached, not framed, and run no inline script', async () => {
    const res = await fetch(`${server.url}/sign-in`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await res.text()).not.toMatch(/<script>(?!<\/script>)/);
  });
});

describe('passwords', () => {
  it('are never logged nor returned, right or wrong', async () => {
    const secretWrong = 'wrong-password-XYZ-123';
    const client = new Client(server.url);
    await client.get('/sign-in');
    const wrong = await client.post('/sign-in', { email: emailOf('analyst'), password: secretWrong });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain(secretWrong);
    const right = await client.signIn(emailOf('analyst'));
    expect(right.status).toBe(303);
    const admin = new Client(server.url);
    await admin.signIn(emailOf('admin'));
    const page = await admin.get('/admin');
    const hashes = await server.db.selectFrom('people').select('password_hash').execute();
    for (const { password_hash } of hashes) expect(page.text).not.toContain(password_hash);
    expect(page.text).not.toMatch(/\$2[aby]\$/);
    const logs = server.logs.join('\n');
    expect(logs).not.toContain(secretWrong);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toMatch(/\$2[aby]\$/);
    for (const id of [...client.cookies.values(), ...admin.cookies.values()]) expect(logs).not.toContain(id);
  });

  it('are stored as bcrypt hashes', async () => {
    const rows = await server.db.selectFrom('people').select('password_hash').execute();
    for (const r of rows) expect(r.password_hash).toMatch(/^\$2[aby]\$\d\d\$/);
  });
});

describe('sign-in rate limit', () => {
  it(`after ${SIGN_IN_LIMITS.email} failures for an email even the right password is refused, with Retry-After`, async () => {
    const client = new Client(server.url);
    const email = emailOf('dispatcher');
    await client.get('/sign-in');
    for (let i = 0; i < SIGN_IN_LIMITS.email; i++) expect((await client.post('/sign-in', { email, password: `nope-${i}-xxxxxx` })).status).toBe(401);
    const blocked = await client.post('/sign-in', { email, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(client.cookies.has('hs_session')).toBe(false);
    // another person signs in meanwhile
    expect((await new Client(server.url).signIn(emailOf('manager'))).status).toBe(303);
  });

  it('an unknown email is refused like a wrong password', async () => {
    const client = new Client(server.url);
    await client.get('/sign-in');
    const res = await client.post('/sign-in', { email: 'nobody@example.com', password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.text).toContain('The email or password is not right.');
  });
});
