import type { Locale } from './index.js';

/**
 * The score explanation in Simplified Chinese: per feature of
 * src/scoring/features.ts a label and a sentence, and the sentences for a
 * measure without a value. English stays where it is written (features.ts and
 * explain.ts); these functions return undefined for English, and for a
 * feature without an entry, so the English text is always the fallback.
 * tests/web/catalogs.happy.test.ts fails when a feature has no entry here.
 *
 * Hook-up in src/scoring/explain.ts (the scoring engineer's file), where
 * `explain(card, stored)` builds each measure, given a `locale` (default 'en'):
 *
 *     label:    measureLabel(locale, m.feature) ?? m.label,   // only when the scorecard kept the feature's own label
 *     sentence: localSentence(locale, …) ?? <the English sentence built now>
 *
 * with, for the branches of the current code,
 *     ok              → explanationSentence(locale, m.feature, raw)
 *     no_information  → noInformationSentence(locale, m.feature, raw)
 *     not_connected   → missingSentence(locale, label, { reason: 'not_connected', source: feature.source, workspace })
 *     stale           → missingSentence(locale, label, { reason: 'stale', freshnessDays: m.freshnessDays })
 *     no_value        → missingSentence(locale, label, { reason: 'no_value' })
 *
 * and the locale from `negotiateLocale(c.req.header('accept-language'))` in the
 * health routes (src/scoring/routes.ts; add `Vary: Accept-Language`) and from
 * `c.var.web.locale` in the pages (src/web/account/routes.tsx passes it to
 * getHealth once getHealth takes it).
 */
type Sentence = (raw: number) => string;

const pct = (x: number) => new Intl.NumberFormat('zh-CN', { style: 'percent', maximumFractionDigits: 0 }).format(x);
const num = (x: number) => new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 1 }).format(x);
const unlog = (r: number) => Math.round(10 ** r - 1);
const updown = (r: number) => (r > 0 ? '上升' : '下降');

export const ZH_SENTENCES: Record<string, Sentence> = {
  adoption: (r) => `近 30 天 ${pct(r)} 的席位处于活跃状态`,
  usage_trend: (r) => (r === 0 ? '使用量与前 30 天持平' : `使用量较前 30 天${updown(r)} ${pct(Math.abs(r))}`),
  usage_change_30_90: (r) => (r === 0 ? '使用量与自身 90 天基线持平' : `使用量较自身 90 天基线${updown(r)} ${pct(Math.abs(r))}`),
  usage_volume_30d: (r) => `近 30 天 ${unlog(r)} 次使用事件`,
  usage_quantity_30d: (r) => `近 30 天使用量 ${unlog(r)}`,
  usage_per_seat_30d: (r) => `近 30 天每席位 ${num(r)} 次使用事件`,
  active_days_30d: (r) => `近 30 天中有 ${r} 天活跃`,
  inactive_streak_90d: (r) => `近 90 天最长连续未使用 ${r} 天`,
  feature_breadth: (r) => `近 30 天使用了 ${r} 项功能`,
  days_inactive: (r) => (r === 0 ? '今天有活动' : `最近一次活动在 ${r} 天前`),
  open_ticket_weight: (r) => (r === 0 ? '没有未关闭的工单' : `未关闭工单权重 ${num(r)}（紧急 4、高 2、普通 1、低 0.5）`),
  tickets_90d: (r) => `90 天内新建 ${r} 张工单`,
  tickets_per_seat_90d: (r) => `90 天内每席位 ${num(r)} 张工单`,
  oldest_urgent_open_days: (r) => (r === 0 ? '没有超过一天未处理的紧急或高优先级工单' : `有一张紧急或高优先级工单已打开 ${r} 天`),
  support_friction_90d: (r) => `90 天内升级、重开或违反 SLA 共 ${r} 次`,
  late_first_responses_90d: (r) => (r === 0 ? '90 天内首次响应均在 SLA 内' : `90 天内 ${r} 次首次响应超出 SLA`),
  late_resolutions_90d: (r) => (r === 0 ? '90 天内工单均在 SLA 内解决' : `90 天内 ${r} 张工单超出 SLA 才解决（或仍未解决）`),
  complaints_90d: (r) => (r === 0 ? '90 天内没有投诉' : `90 天内 ${r} 次投诉`),
  repeat_contacts_90d: (r) => (r === 0 ? '90 天内没有问题需要第三次联系' : `90 天内 ${r} 个问题第二次联系仍未解决`),
  escalations_90d: (r) => (r === 0 ? '90 天内没有升级' : `90 天内 ${r} 次升级`),
  ticket_satisfaction_90d: (r) => `90 天内 ${pct(r)} 的已评价工单为好评`,
  latest_nps: (r) => `最近一次 NPS 评分 ${r}（${r >= 9 ? '推荐者' : r >= 7 ? '被动者' : '贬损者'}）`,
  nps_trend: (r) => (r === 0 ? 'NPS 评分保持稳定' : `NPS 评分较之前 90 天${updown(r)} ${num(Math.abs(r))} 分`),
  csat_avg_90d: (r) => `90 天内 CSAT 平均 ${num(r)} 分（满分 5 分）`,
  days_to_renewal: (r) => (r < 0 ? `续约已逾期 ${-r} 天` : `${r} 天后续约`),
  auto_renew_off: (r) => (r ? '自动续约已关闭' : '自动续约已开启'),
  payment_overdue: (r) => (r ? '付款已逾期' : '付款正常'),
  contraction: (r) => (r === 0 ? '上次续约席位和 ARR 无变化' : `上次续约席位或 ARR ${r > 0 ? '增加' : '减少'} ${pct(Math.abs(r))}`),
  tenure_months: (r) => `已合作 ${Math.round(r)} 个月`,
  contract_months: (r) => `当前合同期 ${Math.round(r)} 个月`,
  downgrades: (r) => (r === 0 ? '从未降级' : `迄今降级 ${r} 次`),
  overdue_contracts: (r) => (r === 0 ? '从未逾期付款' : `迄今 ${r} 份合同逾期付款`),
  arr: (r) => `年度经常性收入 ${unlog(r)}`,
};

export const ZH_LABELS: Record<string, string> = {
  adoption: '席位采用率',
  usage_trend: '使用趋势（30 天对比之前 30 天）',
  usage_change_30_90: '相对自身基线的使用量（30 天对比之前 90 天）',
  usage_volume_30d: '使用事件数（30 天，对数）',
  usage_quantity_30d: '使用量（30 天，对数）',
  usage_per_seat_30d: '每席位使用事件（30 天）',
  active_days_30d: '活跃天数（30 天）',
  inactive_streak_90d: '最长连续未使用（90 天）',
  feature_breadth: '功能使用广度',
  days_inactive: '距最近活动天数',
  open_ticket_weight: '未关闭工单（按优先级）',
  tickets_90d: '工单数（90 天）',
  tickets_per_seat_90d: '每席位工单数（90 天）',
  oldest_urgent_open_days: '最久未关闭的紧急/高优先级工单',
  support_friction_90d: '升级、重开与 SLA 违约（90 天）',
  late_first_responses_90d: '超出 SLA 的首次响应（90 天）',
  late_resolutions_90d: '超出 SLA 的解决（90 天）',
  complaints_90d: '投诉（90 天）',
  repeat_contacts_90d: '第二次联系仍未解决的问题（90 天）',
  escalations_90d: '升级（90 天）',
  ticket_satisfaction_90d: '工单满意度（90 天）',
  latest_nps: '最近一次 NPS 评分',
  nps_trend: 'NPS 趋势（90 天对比之前 90 天）',
  csat_avg_90d: 'CSAT 平均分（90 天）',
  days_to_renewal: '距续约天数',
  auto_renew_off: '自动续约',
  payment_overdue: '付款状态',
  contraction: '上次续约的席位或 ARR 变化',
  tenure_months: '合作时长',
  contract_months: '合同期限',
  downgrades: '降级次数',
  overdue_contracts: '逾期付款记录',
  arr: '合同金额（ARR，对数）',
};

const SOURCE_ZH: Record<string, string> = { usage: '使用数据', support: '工单数据', nps: 'NPS 评分', csat: 'CSAT 评分', commercial: '合同数据' };

/** A feature's sentence for a raw value, or undefined (English, or no entry: use the English sentence). */
export function explanationSentence(locale: Locale, feature: string, raw: number): string | undefined {
  return locale === 'zh-CN' ? ZH_SENTENCES[feature]?.(raw) : undefined;
}

/** A feature's label, or undefined (English, or no entry). */
export function measureLabel(locale: Locale, feature: string): string | undefined {
  return locale === 'zh-CN' ? ZH_LABELS[feature] : undefined;
}

/** A measure whose value is the same for every account. */
export function noInformationSentence(locale: Locale, feature: string, raw: number): string | undefined {
  const sentence = explanationSentence(locale, feature, raw);
  return sentence && `${sentence}；无区分度：所有客户的值相同，因此不计权重`;
}

/** A measure without a value, by reason. */
export function missingSentence(
  locale: Locale,
  label: string,
  why: { reason: 'stale'; freshnessDays?: number | null } | { reason: 'not_connected'; source: string; workspace: boolean } | { reason: 'no_value' },
): string | undefined {
  if (locale !== 'zh-CN') return undefined;
  if (why.reason === 'stale') return `${label}：近期没有数据${why.freshnessDays ? `（超过 ${why.freshnessDays} 天的数据不计入）` : ''}`;
  if (why.reason === 'not_connected') return `${label}：${why.workspace ? '尚未从任何客户' : '尚未从该客户'}收到${SOURCE_ZH[why.source] ?? why.source}`;
  return `${label}：暂无可衡量的数据`;
}
