/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { MessageKey } from '../i18n/index.js';
import { may, type Page } from '../people/roles.js';
import type { WebContext } from './context.js';

interface MenuItem {
  page: Page;
  href: string;
  label: MessageKey;
}

export const MENU: MenuItem[] = [
  { page: 'portfolio', href: '/portfolio', label: 'nav.portfolio' },
  { page: 'inbox', href: '/inbox', label: 'nav.inbox' },
  { page: 'followups', href: '/follow-ups', label: 'nav.followUps' },
  { page: 'dispatch', href: '/dispatch', label: 'nav.dispatch' },
  { page: 'kpis', href: '/kpis', label: 'nav.kpis' },
  { page: 'scorecards', href: '/scorecards', label: 'nav.scorecards' },
  { page: 'proof', href: '/proof', label: 'nav.proof' },
  { page: 'admin', href: '/admin', label: 'nav.admin' },
];

export function CsrfField({ web }: { web: WebContext }) {
  return <input type="hidden" name="_csrf" value={web.csrf} />;
}

export function Layout(props: {
  web: WebContext;
  title: string;
  path: string;
  children: Child;
  /** Server-sent events URL: the page refreshes its live regions when it fires. */
  live?: string;
  chart?: boolean;
  notice?: string | null;
}) {
  const { web, title, path } = props;
  const { t } = web.tr;
  const person = web.person;
  const other = web.locale === 'en' ? { code: 'zh-CN', label: '简体中文' } : { code: 'en', label: 'English' };
  return (
    <html lang={web.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · healthscore`}</title>
        <link rel="stylesheet" href="/assets/app.css" />
        {props.chart ? <link rel="stylesheet" href="/assets/uPlot.min.css" /> : null}
        {props.chart ? <script src="/assets/uPlot.iife.min.js" defer></script> : null}
        <script src="/assets/app.js" defer></script>
      </head>
      <body data-live={props.live}>
        <a class="skip" href="#main">
          {t('nav.skip')}
        </a>
        <header class="top">
          <a class="brand" href="/">
            healthscore
          </a>
          {person ? (
            <nav aria-label={t('nav.label')}>
              <ul>
                {MENU.filter((m) => may(person.roles, m.page)).map((m) => (
                  <li>
                    <a href={m.href} aria-current={path.startsWith(m.href) ? 'page' : undefined}>
                      {t(m.label)}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
          <div class="who">
            <a href={`/lang/${other.code}?next=${encodeURIComponent(path)}`} lang={other.code} hreflang={other.code}>
              {other.label}
            </a>
            {person ? (
              <form method="post" action="/sign-out" class="inline">
                <CsrfField web={web} />
                <span class="person">{person.name}</span>{' '}
                <button type="submit" class="link">
                  {t('nav.signOut')}
                </button>
              </form>
            ) : null}
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {props.notice ? (
            <p class="notice" role="status">
              {props.notice}
            </p>
          ) : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

export function Band({ band, web }: { band: string | null; web: WebContext }) {
  if (!band) return <span class="band none">{web.tr.t('band.none')}</span>;
  return <span class={`band ${band}`}>{web.tr.t(`band.${band}` as MessageKey)}</span>;
}

/** A small inline SVG line of scores (0–100), oldest first. */
export function Sparkline({ points, label }: { points: (number | null)[]; label: string }) {
  const values = points.filter((p): p is number => p !== null);
  if (values.length < 2) return <span class="muted">—</span>;
  const w = 80;
  const h = 20;
  const step = w / (points.length - 1);
  const d = points
    .map((p, i) => (p === null ? null : `${(i * step).toFixed(1)},${(h - (p / 100) * h).toFixed(1)}`))
    .filter(Boolean)
    .join(' ');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <polyline points={d} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

export function Pager({ next, label }: { next: string | null; label: string }) {
  return next ? (
    <p class="pager">
      <a href={next} rel="next">
        {label}
      </a>
    </p>
  ) : null;
}

const BAR_COLORS: Record<string, string> = { red: '#ef4444', yellow: '#eab308', green: '#22c55e', none: '#cbd5e1' };

/** Shares of accounts per band as one horizontal bar (SVG: no inline styles under the CSP). */
export function BandBar({ bands, total, label }: { bands: Record<string, number>; total: number; label: string }) {
  let x = 0;
  return (
    <svg class="bandbar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={label}>
      {['red', 'yellow', 'green', 'none'].map((b) => {
        const w = (100 * (bands[b] ?? 0)) / Math.max(1, total);
        const rect = <rect x={x} y={0} width={w} height={10} fill={BAR_COLORS[b]} />;
        x += w;
        return rect;
      })}
    </svg>
  );
}
