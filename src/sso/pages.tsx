/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createSession, deleteSession, SESSION_MAX_MS } from '../people/repository.js';
import { homePage } from '../people/roles.js';
import { cookieOptions, isSecure, PRE_SESSION_COOKIE, safeNext, SESSION_COOKIE, type WebContextOf, type WebEnv } from '../web/context.js';
import { Layout } from '../web/layout.js';
import { SsoError, type SsoClient } from './client.js';
import { savePending, signInWithIdentity, takePending } from './repository.js';

/** The browser's half of `state`: the callback must come back to the browser that started. */
export const SSO_STATE_COOKIE = 'hs_sso_state';

function Message({ c, title, lines, status }: { c: WebContextOf; title: string; lines: string[]; status: number }) {
  const web = c.var.web;
  return (
    <Layout web={web} title={title} path="/sso">
      <div class="signin panel" data-status={status}>
        <h1>{title}</h1>
        {lines.map((l) => (
          <p>{l}</p>
        ))}
        <p>
          <a href="/sign-in">{web.tr.t('sso.tryAgain')}</a>
        </p>
      </div>
    </Layout>
  );
}

function failed(c: WebContextOf, reason: string, status: 400 | 401 = 400) {
  const { t } = c.var.web.tr;
  c.var.logger.warn('sso sign-in refused', { requestId: c.var.requestId, reason });
  return c.html(<Message c={c} status={status} title={t('sso.failedTitle')} lines={[t('sso.failed', { reason })]} />, status);
}

/** /sso/start and /sso/callback: the authorization code flow's two legs (docs/security.md#single-sign-on). */
export function registerSsoPages(web: Hono<WebEnv>, sso: SsoClient) {
  web.get('/sso/start', async (c) => {
    const next = safeNext(c.req.query('next'), '');
    const { url, pending } = await sso.start();
    await savePending(c.var.db, pending, next || null);
    setCookie(c, SSO_STATE_COOKIE, pending.state, { ...cookieOptions(c, 600), path: '/sso' });
    return c.redirect(url, 303);
  });

  web.get('/sso/callback', async (c) => {
    const state = c.req.query('state') ?? '';
    const cookieState = getCookie(c, SSO_STATE_COOKIE);
    deleteCookie(c, SSO_STATE_COOKIE, { path: '/sso', secure: isSecure(c) });
    if (!state || !cookieState || state !== cookieState) return failed(c, 'state does not match this browser');
    const pending = await takePending(c.var.db, state);
    if (!pending) return failed(c, 'state unknown, used or expired');
    if (c.req.query('error')) return failed(c, `provider refused: ${c.req.query('error')!.slice(0, 100)}`, 401);
    let identity;
    try {
      identity = await sso.finish(new URL(c.req.url), pending);
    } catch (err) {
      if (err instanceof SsoError) return failed(c, err.reason, 401);
      throw err;
    }
    const outcome = await signInWithIdentity(c.var.db, identity);
    const { t } = c.var.web.tr;
    if (outcome.kind === 'no_access') {
      const lines = [t('sso.noAccess', { email: outcome.email }), outcome.groups.length ? t('sso.groups', { groups: outcome.groups.join(', ') }) : t('sso.noGroups')];
      return c.html(<Message c={c} status={403} title={t('sso.noAccessTitle')} lines={lines} />, 403);
    }
    if (outcome.kind === 'disabled') return c.html(<Message c={c} status={403} title={t('sso.noAccessTitle')} lines={[t('sso.disabled')]} />, 403);
    if (outcome.kind === 'no_email') return failed(c, 'the provider sent no email address', 401);
    if (outcome.kind === 'email_taken') return failed(c, `${outcome.email} belongs to another person here`, 401);
    if (c.var.web.sessionIdHash) await deleteSession(c.var.db, c.var.web.sessionIdHash);
    const session = await createSession(c.var.db, outcome.personId, { ssoIdToken: identity.idToken });
    setCookie(c, SESSION_COOKIE, session.id, cookieOptions(c, SESSION_MAX_MS / 1000));
    deleteCookie(c, PRE_SESSION_COOKIE, { path: '/', secure: isSecure(c) });
    c.var.logger.info('signed in', { requestId: c.var.requestId, personId: outcome.personId, via: 'sso' });
    return c.redirect(safeNext(pending.next, '') || homePage(outcome.roles), 303);
  });
}
