import { en, type MessageKey } from './en.js';
import { zhCN } from './zh-CN.js';

/**
 * Message catalogs and Intl formatting for the web app (English and
 * Simplified Chinese). `en` defines the keys; every other catalog is typed
 * Record<MessageKey, string>, and tests/web/catalogs.happy.test.ts checks them
 * at run time as well.
 */
export const LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];
export const isLocale = (value: string | undefined | null): value is Locale => (LOCALES as readonly string[]).includes(value ?? '');

export const CATALOGS: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };
export type { MessageKey };

/** The best of our locales for an Accept-Language header (q-values honoured); English when none fits. */
export function negotiateLocale(acceptLanguage: string | undefined | null): Locale {
  if (!acceptLanguage) return 'en';
  const ranges = acceptLanguage
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: (tag ?? '').trim().toLowerCase(), q: q ? Number(q.slice(2)) || 0 : 1, i };
    })
    .filter((r) => r.tag && r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranges) {
    if (tag === 'zh' || tag.startsWith('zh-cn') || tag.startsWith('zh-hans') || tag === 'zh-sg') return 'zh-CN';
    if (tag.startsWith('zh')) return 'zh-CN'; // Traditional Chinese readers are better served by 简体 than by English
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
    if (tag === '*') return 'en';
  }
  return 'en';
}

export type Vars = Record<string, string | number>;

/** `{name}` placeholders filled from vars. */
export function interpolate(template: string, vars?: Vars): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export interface Translator {
  locale: Locale;
  t(key: MessageKey, vars?: Vars): string;
  /** A number, with digits after the point as given (default 0–1). */
  num(value: number | null | undefined, digits?: number): string;
  /** A share 0–1 as a percentage. */
  pct(value: number | null | undefined): string;
  money(value: number | null | undefined, currency: string | null | undefined): string;
  date(value: Date | string | null | undefined): string;
  dateTime(value: Date | string | null | undefined): string;
  /** Signed difference (+3.2 / −1.0). */
  delta(value: number | null | undefined): string;
}

const cache = new Map<Locale, Translator>();

export function translator(locale: Locale): Translator {
  const hit = cache.get(locale);
  if (hit) return hit;
  const catalog = CATALOGS[locale];
  const numbers = new Map<number, Intl.NumberFormat>();
  const numberFormat = (digits: number) => {
    let f = numbers.get(digits);
    if (!f) numbers.set(digits, (f = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 })));
    return f;
  };
  const signed = new Intl.NumberFormat(locale, { maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: 'exceptZero' });
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
  const moneys = new Map<string, Intl.NumberFormat>();
  const dateFormat = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
  const dateTimeFormat = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' });
  const dash = '—';
  const toDate = (v: Date | string) => (v instanceof Date ? v : /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`) : new Date(v));
  const t: Translator = {
    locale,
    t: (key, vars) => interpolate(catalog[key] ?? en[key] ?? key, vars),
    num: (v, digits = 1) => (v == null ? dash : numberFormat(digits).format(v)),
    pct: (v) => (v == null ? dash : percent.format(v)),
    money: (v, currency) => {
      if (v == null) return dash;
      const code = currency && /^[A-Z]{3}$/.test(currency) ? currency : 'USD';
      let f = moneys.get(code);
      if (!f) moneys.set(code, (f = new Intl.NumberFormat(locale, { style: 'currency', currency: code, maximumFractionDigits: 0 })));
      return f.format(v);
    },
    date: (v) => (v == null ? dash : dateFormat.format(toDate(v))),
    dateTime: (v) => (v == null ? dash : dateTimeFormat.format(toDate(v))),
    delta: (v) => (v == null ? dash : signed.format(v)),
  };
  cache.set(locale, t);
  return t;
}
