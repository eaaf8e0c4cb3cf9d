/** @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import {
  clearSignInFailures,
  createSession,
  deleteSession,
  findPersonByEmail,
  pruneSessions,
  recordSignInFailure,
  SESSION_MAX_MS,
  signInBlockedFor,
} from '../../people/repository.js';
import { dummyHash, verifyPassword } from '../../people/passwords.js';
import { homePage } from '../../people/roles.js';
import { cookieOptions, formOf, isSecure, PRE_SESSION_COOKIE, safeNext, SESSION_COOKIE, type WebContextOf, type WebEnv } from '../context.js';
import { CsrfField, Layout } from '../layout.js';

/** The client address for the per-client sign-in limit. */
function clientOf(c: WebContextOf): string {
  const cf = c.req.header('cf-connecting-ip');
  if (cf) return cf;
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** How people sign in here (docs/security.md): single sign-on, local passwords, or both. */
export interface SignInOptions {
  sso: boolean;
  localPasswords: boolean;
  /** The provider's sign-out URL for an SSO session's ID token, if it has one. */
  endSessionUrl?: (idToken: string, postLogoutRedirect: string) => Promise<string | undefined>;
}

function SignInPage({ c, error, email, next, options }: { c: WebContextOf; error?: string; email?: string; next: string; options: SignInOptions }) {
  const web = c.var.web;
  const { t } = web.tr;
  return (
    <Layout web={web} title={t('signIn.title')} path="/sign-in">
      <div class="signin panel">
        <h1>{t('signIn.title')}</h1>
        {error ? (
          <p class="error-box" role="alert">
            {error}
          </p>
        ) : null}
        {options.sso ? (
          <p>
            <a class="button" href={`/sso/start${next ? `?next=${encodeURIComponent(next)}` : ''}`} data-testid="sso">
              {t('signIn.sso')}
            </a>
          </p>
        ) : null}
        {options.localPasswords ? (options.sso ? <p class="muted">{t('signIn.or')}</p> : null) : <p class="muted">{t('signIn.localDisabled')}</p>}
        {options.localPasswords ? <LocalForm c={c} email={email} next={next} /> : null}
      </div>
    </Layout>
  );
}

function LocalForm({ c, email, next }: { c: WebContextOf; email?: string; next: string }) {
  const web = c.var.web;
  const { t } = web.tr;
  return (
    <>
        <form method="post" action="/sign-in" class="stack">
          <CsrfField web={web} />
          <input type="hidden" name="next" value={next} />
          <label>
            {t('signIn.email')}
            <input type="email" name="email" autocomplete="username" required value={email ?? ''} />
          </label>
          <label>
            {t('signIn.password')}
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          <button type="submit">{t('signIn.submit')}</button>
        </form>
        <p class="muted">{t('signIn.help')}</p>
    </>
  );
}

export function registerSignInRoutes(web: Hono<WebEnv>, options: SignInOptions = { sso: false, localPasswords: true }) {
  web.get('/sign-in', (c) => {
    const next = safeNext(c.req.query('next'), '');
    if (c.var.web.person) return c.redirect(next || homePage(c.var.web.person.roles), 303);
    return c.html(<SignInPage c={c} next={next} options={options} />);
  });

  web.post('/sign-in', async (c) => {
    if (!options.localPasswords) return c.html(<SignInPage c={c} next="" options={options} error={c.var.web.tr.t('signIn.localDisabled')} />, 403);
    const form = await formOf(c);
    const email = (form.email ?? '').trim().slice(0, 320);
    const password = form.password ?? '';
    const next = safeNext(form.next, '');
    const { t } = c.var.web.tr;
    const client = clientOf(c);
    const wait = await signInBlockedFor(c.var.db, email, client);
    if (wait > 0) {
      c.header('retry-after', String(wait));
      return c.html(<SignInPage c={c} email={email} next={next} options={options} error={t('signIn.tooMany', { minutes: Math.ceil(wait / 60) })} />, 429);
    }
    const person = email ? await findPersonByEmail(c.var.db, email) : undefined;
    // Compare against a dummy hash for unknown emails, so both take as long.
    const ok = (await verifyPassword(password.slice(0, 200), person?.password_hash ?? (await dummyHash()))) && person && !person.disabled_at;
    if (!ok || !person) {
      await recordSignInFailure(c.var.db, email, client);
      c.var.logger.info('sign-in refused', { requestId: c.var.requestId, email: email.toLowerCase() });
      return c.html(<SignInPage c={c} email={email} next={next} options={options} error={t('signIn.failed')} />, 401);
    }
    await clearSignInFailures(c.var.db, email);
    // Housekeeping rides on sign-ins: expired sessions and day-old failures go.
    await pruneSessions(c.var.db);
    // A new session id on every sign-in (never one the browser brought: no fixation); the old one ends.
    if (c.var.web.sessionIdHash) await deleteSession(c.var.db, c.var.web.sessionIdHash);
    const session = await createSession(c.var.db, person.id);
    setCookie(c, SESSION_COOKIE, session.id, cookieOptions(c, SESSION_MAX_MS / 1000));
    deleteCookie(c, PRE_SESSION_COOKIE, { path: '/', secure: isSecure(c) });
    c.var.logger.info('signed in', { requestId: c.var.requestId, personId: person.id });
    return c.redirect(next || homePage(person.roles), 303);
  });

  web.post('/sign-out', async (c) => {
    const idToken = c.var.web.sessionIdHash ? await deleteSession(c.var.db, c.var.web.sessionIdHash) : null;
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isSecure(c) });
    // A single sign-on session also ends at the provider, where it supports that.
    const atProvider = idToken && options.endSessionUrl ? await options.endSessionUrl(idToken, new URL('/sign-in', c.req.url).href).catch(() => undefined) : undefined;
    if (!atProvider) return c.redirect('/sign-in', 303);
    // A form's redirect to another site is blocked by form-action 'self': a page of ours moves on to the provider.
    return c.html(
      <html lang={c.var.web.locale}>
        <head>
          <meta http-equiv="refresh" content={`0;url=${atProvider}`} />
          <title>{c.var.web.tr.t('nav.signOut')}</title>
        </head>
        <body>
          <a href={atProvider}>{c.var.web.tr.t('nav.signOut')}</a>
        </body>
      </html>,
    );
  });
}
