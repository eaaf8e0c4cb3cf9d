import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { base64Url, randomBytes } from '../encoding.js';
import type { AppEnv, AppVariables } from '../http/env.js';
import { CATALOGS, isLocale, type Locale, type MessageKey, negotiateLocale, type Translator, translator } from '../i18n/index.js';
import { findSession, type Person } from '../people/repository.js';
import { may, type Permission } from '../people/roles.js';

export const SESSION_COOKIE = 'hs_session';
/** Before sign-in: a random value the sign-in form repeats (double-submit CSRF token). */
export const PRE_SESSION_COOKIE = 'hs_presession';
export const LOCALE_COOKIE = 'hs_lang';

/** What every page handler reads from `c.var.web`. */
export interface WebContext {
  person?: Person;
  sessionIdHash?: string;
  /** The token every form of this page must send back as `_csrf`. */
  csrf: string;
  locale: Locale;
  tr: Translator;
}

export interface WebEnv extends AppEnv {
  Variables: AppVariables & { web: WebContext };
}

export type WebContextOf = Context<WebEnv>;

/** A page-level failure: rendered as an HTML error page with this status. */
export class PageError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422 | 429,
    readonly messageKey: 'error.forbidden' | 'error.notFound' | 'error.badRequest' | 'error.conflict' | 'error.csrf' | 'error.tooMany',
    readonly detail?: string,
  ) {
    super(messageKey);
  }
}

export const isSecure = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

export function cookieOptions(c: Context, maxAgeSeconds?: number) {
  return { httpOnly: true, sameSite: 'Lax' as const, path: '/', secure: isSecure(c), ...(maxAgeSeconds ? { maxAge: maxAgeSeconds } : {}) };
}

/** Loads the session (if any), the locale and the CSRF token for this request. */
export const webContext: MiddlewareHandler<WebEnv> = async (c, next) => {
  const sessionId = getCookie(c, SESSION_COOKIE);
  const session = sessionId ? await findSession(c.var.db, sessionId) : undefined;
  if (sessionId && !session) deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isSecure(c) });
  const cookieLocale = getCookie(c, LOCALE_COOKIE);
  const locale: Locale = isLocale(cookieLocale) ? cookieLocale : isLocale(session?.person.locale) ? session!.person.locale as Locale : negotiateLocale(c.req.header('accept-language'));
  let csrf = session?.csrfToken;
  if (!csrf) {
    csrf = getCookie(c, PRE_SESSION_COOKIE);
    if (!csrf || !/^[A-Za-z0-9_-]{43}$/.test(csrf)) {
      csrf = base64Url(randomBytes(32));
      setCookie(c, PRE_SESSION_COOKIE, csrf, cookieOptions(c));
    }
  }
  if (session) await c.var.audit?.identify({ type: 'person', id: String(session.person.id) });
  c.set('web', { person: session?.person, sessionIdHash: session?.idHash, csrf, locale, tr: translator(locale) });
  c.header('cache-control', 'no-store');
  c.header('x-frame-options', 'DENY');
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'same-origin');
  c.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  await next();
};

function sameHost(origin: string, host: string) {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Constant-time string comparison. */
function same(a: string, b: string) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Every state-changing request must carry the page's CSRF token (`_csrf` form
 * field or `x-csrf-token` header) and must not come from another site.
 */
export const csrfGuard: MiddlewareHandler<WebEnv> = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  if (c.req.header('sec-fetch-site') === 'cross-site') throw new PageError(403, 'error.csrf');
  const origin = c.req.header('origin');
  if (origin && !sameHost(origin, c.req.header('host') ?? new URL(c.req.url).host)) throw new PageError(403, 'error.csrf');
  let sent = c.req.header('x-csrf-token');
  if (!sent) {
    const type = c.req.header('content-type') ?? '';
    if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
      const body = await c.req.parseBody();
      sent = typeof body._csrf === 'string' ? body._csrf : undefined;
    }
  }
  if (!sent || !same(sent, c.var.web.csrf)) throw new PageError(403, 'error.csrf');
  return next();
};

/** Signed in, else to the sign-in page (remembering where to come back). */
export function signedIn(c: WebContextOf): Person {
  const person = c.var.web.person;
  if (!person) throw new RedirectToSignIn(c.req.path + (new URL(c.req.url).search || ''));
  return person;
}

export class RedirectToSignIn extends Error {
  constructor(readonly next: string) {
    super('sign in first');
  }
}

/** The person, who must hold a role with this permission (else 403, the same as the menu hides it). */
export function requirePermission(c: WebContextOf, permission: Permission): Person {
  const person = signedIn(c);
  if (!may(person.roles, permission)) throw new PageError(403, 'error.forbidden');
  return person;
}

/** A local path to come back to; anything else becomes the fallback. */
export function safeNext(next: string | undefined | null, fallback: string): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}

/** Form fields as strings (the last value wins); files are ignored. */
export async function formOf(c: WebContextOf): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Back to a page with a notice (303, so a reload does not resubmit). */
export const done = (c: WebContextOf, path: string, notice: NoticeKey) => c.redirect(`${path}${path.includes('?') ? '&' : '?'}notice=${encodeURIComponent(notice)}`, 303);

export type NoticeKey = Extract<MessageKey, `notice.${string}`>;

/** The notice a redirect asked for: only our own messages, never text from the URL. */
export function noticeOf(c: WebContextOf): string | null {
  const key = c.req.query('notice');
  return key && key.startsWith('notice.') && key in CATALOGS.en ? c.var.web.tr.t(key as MessageKey) : null;
}
