import type { Locale } from './index.js';

/**
 * The score explanation's sentences in every locale, one entry per feature of
 * src/scoring/features.ts (English here repeats the sentences written there).
 *
 * Hook-up for the scoring code (src/scoring/explain.ts), where it builds
 * `sentence`:
 *
 *     import { explanationSentence, missingSentence } from '../i18n/explanations.js';
 *     sentence: sub === null
 *       ? missingSentence(locale, m.label, m.freshnessDays)
 *       : explanationSentence(locale, m.feature, raw!) ?? FEATURES[m.feature].describe(raw!),
 *
 * with `locale` passed down from the API (negotiateLocale(c.req.header('accept-language')))
 * or the page (c.var.web.locale). A feature without an entry here returns
 * undefined, so the English sentence of features.ts stays the fallback.
 */
type Sentence = (raw: number) => string;

const pct = (locale: Locale, x: number) => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(x);
const num = (locale: Locale, x: number) => new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(x);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const round1 = (x: number) => Math.round(x * 10) / 10;

export const EXPLANATIONS: Record<Locale, Record<string, Sentence>> = {
  en: {
    adoption: (r) => `${pct('en', r)} of seats active in the last 30 days`,
    usage_trend: (r) => (r === 0 ? 'usage flat vs the previous 30 days' : `usage ${r > 0 ? 'up' : 'down'} ${pct('en', Math.abs(r))} vs the previous 30 days`),
    feature_breadth: (r) => `${plural(r, 'feature')} used in the last 30 days`,
    days_inactive: (r) => (r === 0 ? 'active today' : `last activity ${plural(r, 'day')} ago`),
    open_ticket_weight: (r) => (r === 0 ? 'no open tickets' : `open tickets weigh ${round1(r)} (urgent 4, high 2, normal 1, low 0.5 each)`),
    tickets_per_seat_90d: (r) => `${round1(r)} tickets per seat in 90 days`,
    oldest_urgent_open_days: (r) => (r === 0 ? 'no urgent or high tickets open for a day or more' : `an urgent or high ticket open for ${plural(r, 'day')}`),
    support_friction_90d: (r) => `${plural(r, 'escalation, reopen or SLA breach', 'escalations, reopens and SLA breaches')} in 90 days`,
    ticket_satisfaction_90d: (r) => `${pct('en', r)} of rated tickets were good in 90 days`,
    latest_nps: (r) => `latest NPS answer ${r} (${r >= 9 ? 'promoter' : r >= 7 ? 'passive' : 'detractor'})`,
    nps_trend: (r) => (r === 0 ? 'NPS answers steady' : `NPS answers ${r > 0 ? 'up' : 'down'} ${round1(Math.abs(r))} points vs the 90 days before`),
    csat_avg_90d: (r) => `CSAT average ${round1(r)} of 5 in 90 days`,
    days_to_renewal: (r) => (r < 0 ? `renewal ${plural(-r, 'day')} overdue` : `renewal in ${plural(r, 'day')}`),
    auto_renew_off: (r) => (r ? 'auto-renew is off' : 'auto-renew is on'),
    payment_overdue: (r) => (r ? 'payment is overdue' : 'payments are current'),
    contraction: (r) => (r === 0 ? 'no seat or ARR change at last renewal' : `seats or ARR ${r > 0 ? 'up' : 'down'} ${pct('en', Math.abs(r))} at last renewal`),
  },
  'zh-CN': {
    adoption: (r) => `近 30 天 ${pct('zh-CN', r)} 的席位处于活跃状态`,
    usage_trend: (r) => (r === 0 ? '使用量与前 30 天持平' : `使用量较前 30 天${r > 0 ? '上升' : '下降'} ${pct('zh-CN', Math.abs(r))}`),
    feature_breadth: (r) => `近 30 天使用了 ${r} 项功能`,
    days_inactive: (r) => (r === 0 ? '今天有活动' : `最近一次活动在 ${r} 天前`),
    open_ticket_weight: (r) => (r === 0 ? '没有未关闭的工单' : `未关闭工单权重 ${num('zh-CN', r)}（紧急 4、高 2、普通 1、低 0.5）`),
    tickets_per_seat_90d: (r) => `90 天内每席位 ${num('zh-CN', r)} 张工单`,
    oldest_urgent_open_days: (r) => (r === 0 ? '没有超过一天未处理的紧急或高优先级工单' : `有一张紧急或高优先级工单已打开 ${r} 天`),
    support_friction_90d: (r) => `90 天内升级、重开或违反 SLA 共 ${r} 次`,
    ticket_satisfaction_90d: (r) => `90 天内 ${pct('zh-CN', r)} 的已评价工单为好评`,
    latest_nps: (r) => `最近一次 NPS 评分 ${r}（${r >= 9 ? '推荐者' : r >= 7 ? '被动者' : '贬损者'}）`,
    nps_trend: (r) => (r === 0 ? 'NPS 评分保持稳定' : `NPS 评分较之前 90 天${r > 0 ? '上升' : '下降'} ${num('zh-CN', Math.abs(r))} 分`),
    csat_avg_90d: (r) => `90 天内 CSAT 平均 ${num('zh-CN', r)} 分（满分 5 分）`,
    days_to_renewal: (r) => (r < 0 ? `续约已逾期 ${-r} 天` : `${r} 天后续约`),
    auto_renew_off: (r) => (r ? '自动续约已关闭' : '自动续约已开启'),
    payment_overdue: (r) => (r ? '付款已逾期' : '付款正常'),
    contraction: (r) => (r === 0 ? '上次续约席位和 ARR 无变化' : `上次续约席位或 ARR ${r > 0 ? '增加' : '减少'} ${pct('zh-CN', Math.abs(r))}`),
  },
};

/** The sentence for a feature's raw value in a locale, or undefined when the feature has no entry (use the English one then). */
export function explanationSentence(locale: Locale, feature: string, raw: number): string | undefined {
  return EXPLANATIONS[locale][feature]?.(raw);
}

/** The sentence for a measure without recent data. */
export function missingSentence(locale: Locale, label: string, freshnessDays?: number | null): string {
  if (locale === 'zh-CN') return `${label}：近期没有数据${freshnessDays ? `（超过 ${freshnessDays} 天的数据不计入）` : ''}`;
  return `${label}: no recent data${freshnessDays ? ` (data older than ${freshnessDays} days is ignored)` : ''}`;
}
