import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserless, startCraftedIssuer, startSsoApp } from './support.js';

/**
 * The checks of the ID token and of the callback, driven over HTTP (a
 * browser adds nothing here) against an issuer that signs what each test
 * asks for: a wrong audience, an expired token, a replayed code, a tampered
 * state, and a signing key rotated in.
 */
let app: Awaited<ReturnType<typeof startSsoApp>>;
let idp: Awaited<ReturnType<typeof startCraftedIssuer>>;

beforeAll(async () => {
  let issuer = '';
  app = await startSsoApp(() => issuer);
  idp = await startCraftedIssuer(() => app.url);
  issuer = idp.issuer;
  await app.db.insertInto('sso_group_roles').values({ group_name: 'cs-team', roles: ['csm'] }).execute();
});
afterAll(async () => {
  await app?.close();
  await idp?.close();
});

/** Starts a sign-in and follows it to the provider; returns the callback URL the provider sent back. */
async function toCallback(b: ReturnType<typeof browserless>) {
  const start = await b.fetch(`${app.url}/sso/start`);
  expect(start.status).toBe(303);
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('state')).toBeTruthy();
  expect(authorize.searchParams.get('nonce')).toBeTruthy();
  const back = await b.fetch(authorize.href);
  return back.headers.get('location')!;
}

const pageOf = async (res: Response) => ({ status: res.status, text: await res.text() });

describe('single sign-on refuses', () => {
  it('nothing when all is well: a session, just in time', async () => {
    const b = browserless();
    const res = await b.fetch(await toCallback(b));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/portfolio');
    expect(b.jar.has('hs_session')).toBe(true);
  });

  it('an ID token for another audience', async () => {
    idp.next.aud = 'someone-else';
    try {
      const b = browserless();
      const page = await pageOf(await b.fetch(await toCallback(b)));
      expect(page.status).toBe(401);
      expect(page.text).toContain('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
      expect(b.jar.has('hs_session')).toBe(false);
    } finally {
      delete idp.next.aud;
    }
  });

  it('an expired ID token', async () => {
    idp.next.expiresIn = -600;
    try {
      const b = browserless();
      const page = await pageOf(await b.fetch(await toCallback(b)));
      expect(page.status).toBe(401);
      expect(page.text).toContain('OAUTH_JWT_TIMESTAMP_CHECK_FAILED');
      expect(b.jar.has('hs_session')).toBe(false);
    } finally {
      delete idp.next.expiresIn;
    }
  });

  it('a replayed code (and a replayed callback)', async () => {
    const b = browserless();
    const callback = await toCallback(b);
    expect((await b.fetch(callback)).status).toBe(303);
    // The same callback again: its state was used up.
    expect((await pageOf(await b.fetch(callback))).status).toBe(400);
    // The old code with a fresh state: the provider refuses the code.
    const fresh = new URL(await toCallback(b));
    fresh.searchParams.set('code', new URL(callback).searchParams.get('code')!);
    const page = await pageOf(await b.fetch(fresh.href));
    expect(page.status).toBe(401);
    expect(page.text).toContain('invalid_grant');
  });

  it('a tampered state, and a callback that did not start in this browser', async () => {
    const b = browserless();
    const callback = new URL(await toCallback(b));
    callback.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    expect((await pageOf(await b.fetch(callback.href))).status).toBe(400);
    const other = browserless();
    const elsewhere = await toCallback(b);
    const page = await pageOf(await other.fetch(elsewhere));
    expect(page.status).toBe(400);
    expect(other.jar.has('hs_session')).toBe(false);
  });

  it('nothing after the provider rotates its signing key', async () => {
    const b = browserless();
    expect((await b.fetch(await toCallback(b))).status).toBe(303);
    await idp.rotate('k2');
    const c = browserless();
    const res = await c.fetch(await toCallback(c));
    expect(res.status).toBe(303);
    expect(c.jar.has('hs_session')).toBe(true);
  });
});
