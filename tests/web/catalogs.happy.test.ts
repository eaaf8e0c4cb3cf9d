import { describe, expect, it } from 'vitest';
import { CATALOGS, LOCALES, negotiateLocale, translator } from '../../src/i18n/index.js';
import { explanationSentence, measureLabel, missingSentence, noInformationSentence, ZH_LABELS, ZH_SENTENCES } from '../../src/i18n/explanations.js';
import { FEATURE_NAMES } from '../../src/scoring/features.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogs', () => {
  it('every locale has every key of every other locale, none empty', () => {
    const all = new Set(LOCALES.flatMap((l) => Object.keys(CATALOGS[l])));
    for (const locale of LOCALES) {
      const missing = [...all].filter((k) => !(k in CATALOGS[locale]));
      expect(missing, `missing in ${locale}`).toEqual([]);
      const empty = Object.entries(CATALOGS[locale]).filter(([, v]) => !v.trim());
      expect(empty, `empty in ${locale}`).toEqual([]);
    }
  });

  it('translations keep the placeholders of the English text', () => {
    for (const [key, text] of Object.entries(CATALOGS.en)) {
      expect(placeholders(CATALOGS['zh-CN'][key as keyof typeof CATALOGS.en]), key).toEqual(placeholders(text));
    }
  });

  it('the Chinese catalog is Chinese: no entry is left as the English text, save names and abbreviations', () => {
    const same = Object.entries(CATALOGS.en).filter(([k, v]) => CATALOGS['zh-CN'][k as keyof typeof CATALOGS.en] === v);
    expect(same.map(([k]) => k)).toEqual([]);
  });

  it('every scoring feature has a Chinese label and sentence (English stays in src/scoring)', () => {
    const names = [...FEATURE_NAMES].sort();
    expect(names.filter((f) => !(f in ZH_SENTENCES)), 'features without a Chinese sentence').toEqual([]);
    expect(names.filter((f) => !(f in ZH_LABELS)), 'features without a Chinese label').toEqual([]);
    expect(explanationSentence('zh-CN', 'adoption', 0.42)).toBe('近 30 天 42% 的席位处于活跃状态');
    expect(explanationSentence('zh-CN', 'days_to_renewal', -3)).toBe('续约已逾期 3 天');
    expect(explanationSentence('en', 'adoption', 0.42)).toBeUndefined();
    expect(explanationSentence('zh-CN', 'not_a_feature', 1)).toBeUndefined();
    expect(measureLabel('zh-CN', 'latest_nps')).toBe('最近一次 NPS 评分');
    expect(noInformationSentence('zh-CN', 'payment_overdue', 0)).toMatch(/^付款正常；/);
    expect(missingSentence('zh-CN', 'NPS', { reason: 'stale', freshnessDays: 180 })).toContain('180');
    expect(missingSentence('zh-CN', 'NPS', { reason: 'not_connected', source: 'nps', workspace: true })).toBe('NPS：尚未从任何客户收到NPS 评分');
    expect(missingSentence('en', 'NPS', { reason: 'no_value' })).toBeUndefined();
  });
});

describe('locale negotiation and formatting', () => {
  it('picks zh-CN for Chinese browsers, English otherwise, honouring q-values', () => {
    expect(negotiateLocale('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh-CN');
    expect(negotiateLocale('zh-Hans-CN')).toBe('zh-CN');
    expect(negotiateLocale('en-GB,en;q=0.9')).toBe('en');
    expect(negotiateLocale('fr-FR,zh;q=0.5,en;q=0.4')).toBe('zh-CN');
    expect(negotiateLocale('en;q=0.2,zh-CN;q=0.9')).toBe('zh-CN');
    expect(negotiateLocale('de-DE')).toBe('en');
    expect(negotiateLocale(undefined)).toBe('en');
  });

  it('formats numbers, currency and dates with Intl for the locale', () => {
    const en = translator('en');
    const zh = translator('zh-CN');
    expect(en.money(96000, 'EUR')).toBe('€96,000');
    expect(zh.money(96000, 'CNY')).toBe('¥96,000');
    expect(en.num(1234.56)).toBe('1,234.6');
    expect(en.delta(-2.5)).toBe('-2.5');
    expect(en.date('2026-03-05')).toBe('Mar 5, 2026');
    expect(zh.date('2026-03-05')).toBe('2026年3月5日');
    expect(zh.t('inbox.count', { n: 3 })).toBe('3 条未解决预警');
  });
});
