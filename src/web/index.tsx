/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { DomainError } from '../lib/errors.js';
import { isLocale, translator } from '../i18n/index.js';
import { homePage } from '../people/roles.js';
import { registerAccountPages } from './account/routes.js';
import { registerAdminPages } from './admin/routes.js';
import { APP_CSS } from './assets/app-css.js';
import { APP_JS } from './assets/app-js.js';
import { cookieOptions, csrfGuard, LOCALE_COOKIE, PageError, RedirectToSignIn, safeNext, webContext, type WebContextOf, type WebEnv } from './context.js';
import { registerFollowUpPages } from './follow-ups/routes.js';
import { registerInboxPages } from './inbox/routes.js';
import { registerKpiPages } from './kpis/routes.js';
import { Layout } from './layout.js';
import { registerLiveRoutes } from './live/routes.js';
import { registerPortfolioPages } from './portfolio/routes.js';
import { registerProofPages } from './proof/routes.js';
import { registerScorecardPages } from './scorecards/routes.js';
import { registerSignInRoutes } from './sign-in/routes.js';

/** uPlot's files, served by the service itself (no CDN): read from the package on Node, bundled as text on Workers. */
export type WebAssets = (file: 'uPlot.iife.min.js' | 'uPlot.min.css') => Promise<string | undefined>;

/** Every path the web app answers (its middleware runs on these only). */
export const PAGE_PATHS = [
  '/',
  '/sign-in',
  '/sign-out',
  '/lang/*',
  '/portfolio',
  '/portfolio.csv',
  '/accounts/*',
  '/inbox',
  '/inbox/*',
  '/follow-ups',
  '/follow-ups/*',
  '/dispatch',
  '/dispatch/*',
  '/kpis',
  '/scorecards',
  '/scorecards/*',
  '/proof',
  '/proof/*',
  '/admin',
  '/admin/*',
  '/live/*',
];

function ErrorPage({ c, status, message }: { c: WebContextOf; status: number; message: string }) {
  const web = c.var.web;
  return (
    <Layout web={web} title={String(status)} path={c.req.path}>
      <h1>{message}</h1>
      <p>
        <a href="/">{web.tr.t('error.home')}</a>
      </p>
    </Layout>
  );
}

/** The web app: pages for people who sign in (docs/web-app.md). */
export function createWebApp(assets?: WebAssets) {
  const web = new Hono<WebEnv>();

  // Static assets need no session.
  const asset = (body: () => Promise<string | undefined> | string | undefined, type: string) => async (c: WebContextOf) => {
    const text = await body();
    if (text === undefined) return c.text('not bundled with this build', 404);
    return c.body(text, 200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
  };
  web.get('/assets/app.js', asset(() => APP_JS, 'text/javascript; charset=utf-8'));
  web.get('/assets/app.css', asset(() => APP_CSS, 'text/css; charset=utf-8'));
  web.get('/assets/uPlot.iife.min.js', asset(() => assets?.('uPlot.iife.min.js'), 'text/javascript; charset=utf-8'));
  web.get('/assets/uPlot.min.css', asset(() => assets?.('uPlot.min.css'), 'text/css; charset=utf-8'));

  const pages = new Hono<WebEnv>();
  // Only the pages' paths: the API under /v1 keeps its own auth and error envelope.
  for (const path of PAGE_PATHS) pages.use(path, webContext, csrfGuard);

  pages.get('/', (c) => c.redirect(c.var.web.person ? homePage(c.var.web.person.roles) : '/sign-in', 302));
  pages.get('/lang/:locale', (c) => {
    const locale = c.req.param('locale');
    if (isLocale(locale)) setCookie(c, LOCALE_COOKIE, locale, { ...cookieOptions(c, 365 * 86400), httpOnly: false });
    return c.redirect(safeNext(c.req.query('next'), '/'), 303);
  });

  registerSignInRoutes(pages);
  registerPortfolioPages(pages);
  registerAccountPages(pages);
  registerInboxPages(pages);
  registerFollowUpPages(pages);
  registerKpiPages(pages);
  registerScorecardPages(pages);
  registerProofPages(pages);
  registerAdminPages(pages);
  registerLiveRoutes(pages);

  pages.onError((err, c) => {
    if (err instanceof RedirectToSignIn) return c.redirect(`/sign-in?next=${encodeURIComponent(err.next)}`, 303);
    const webVar = c.var.web ?? { csrf: '', locale: 'en' as const, tr: translator('en') };
    if (!c.var.web) c.set('web', webVar);
    const { t } = webVar.tr;
    if (err instanceof PageError) return c.html(<ErrorPage c={c} status={err.status} message={err.detail ?? t(err.messageKey)} />, err.status);
    if (err instanceof DomainError) {
      const status = err.code === 'not_found' ? 404 : err.code === 'conflict' ? 409 : err.code === 'validation_failed' || err.code === 'unprocessable' ? 422 : 400;
      return c.html(<ErrorPage c={c} status={status} message={err.detail} />, status);
    }
    if (err instanceof HTTPException && err.status < 500) return c.html(<ErrorPage c={c} status={err.status} message={t('error.badRequest')} />, err.status);
    c.var.logger?.error('page failed', { requestId: c.var.requestId, error: err instanceof Error ? err.message : String(err) });
    return c.html(<ErrorPage c={c} status={500} message={t('error.internal')} />, 500);
  });

  web.route('/', pages);
  return web;
}
