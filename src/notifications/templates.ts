import type { DigestAccount, DigestFollowUp, Language, NotificationPayload } from './model.js';

/**
 * Messages in both languages, rendered from a notification's payload. One
 * model (RenderedMessage) feeds every channel: email (HTML and text) and the
 * chat formats in formats.ts. Worker-safe: no Node imports.
 */

export interface RenderedItem {
  text: string;
  url?: string;
}

export interface RenderedSection {
  heading: string;
  items: RenderedItem[];
}

export interface RenderedMessage {
  language: Language;
  /** Email subject and chat title. */
  title: string;
  /** One line under the title. */
  summary: string | null;
  /** Label/value pairs: score, band, severity, due time. */
  facts: [string, string][];
  /** Reason sentences. */
  reasons: string[];
  /** The digest's sections; empty for single events. */
  sections: RenderedSection[];
  /** The account page of the web app (or the web app for a digest). */
  link: { url: string; label: string } | null;
  /** Severity or band, for colours: `red`, `yellow`, `green`, or null. */
  tone: 'red' | 'yellow' | 'green' | null;
  footer: string;
}

type Strings = {
  titles: Record<NotificationPayload['kind'], (v: Record<string, string>) => string>;
  bands: Record<string, string>;
  severities: Record<string, string>;
  score: string;
  band: string;
  severity: string;
  due: string;
  assignee: string;
  openAccount: string;
  openApp: string;
  red: string;
  newlyYellow: string;
  alerts: (counts: string) => string;
  followUpsToday: string;
  followUpsOverdue: string;
  renewals: string;
  renewalItem: (name: string, date: string, days: number) => string;
  accountItem: (a: DigestAccount) => string;
  followUpItem: (f: DigestFollowUp, due: string) => string;
  nothing: string;
  summaryDigest: (red: number, alerts: number, followUps: number, renewals: number) => string;
  footer: string;
  kinds: Record<string, string>;
  listSep: string;
};

const en: Strings = {
  titles: {
    alert_assigned: (v) => `Churn risk assigned to you: ${v.account}`,
    alert_on_my_accounts: (v) => `Churn risk on your account ${v.account}`,
    alert_opened: (v) => `Churn risk opened: ${v.account}`,
    // An activation that made the alert untrue is no save: it says so.
    alert_resolved: (v) =>
      v.resolution === 'scorecard_changed'
        ? `Churn risk withdrawn, the scorecard changed: ${v.account}`
        : v.resolution === 'rules_changed'
          ? `Churn risk withdrawn, the alert rules changed: ${v.account}`
          : `Churn risk resolved: ${v.account}`,
    follow_up_due: (v) => `Follow-up due: ${v.title} (${v.account})`,
    follow_up_overdue: (v) => `Follow-up overdue: ${v.title} (${v.account})`,
    band_change: (v) => `${v.account} moved from ${v.from} to ${v.to}`,
    daily_digest: (v) => `Your healthscore digest for ${v.date}`,
    channel_test: () => 'Test message from healthscore',
  },
  bands: { green: 'green', yellow: 'yellow', red: 'red', none: 'no band' },
  severities: { low: 'low', medium: 'medium', high: 'high', critical: 'critical' },
  score: 'Score',
  band: 'Band',
  severity: 'Severity',
  due: 'Due',
  assignee: 'Assignee',
  openAccount: 'Open the account',
  openApp: 'Open healthscore',
  red: 'Red accounts',
  newlyYellow: 'Newly yellow accounts',
  alerts: (counts) => `Open alerts (${counts})`,
  followUpsToday: 'Follow-ups today',
  followUpsOverdue: 'Overdue follow-ups',
  renewals: 'Renewals within 30 days',
  renewalItem: (name, date, days) => `${name}: renews ${date} (in ${days} day${days === 1 ? '' : 's'})`,
  accountItem: (a) => `${a.name}, score ${a.score ?? '–'}${a.moved.length ? `: ${a.moved.join('; ')}` : ''}`,
  followUpItem: (f, due) => `${f.title} (${f.account.name}), ${due}`,
  nothing: 'Nothing needs you today.',
  summaryDigest: (red, alerts, followUps, renewals) =>
    `${red} red account${red === 1 ? '' : 's'}, ${alerts} open alert${alerts === 1 ? '' : 's'}, ${followUps} follow-up${followUps === 1 ? '' : 's'}, ${renewals} renewal${renewals === 1 ? '' : 's'}`,
  footer: 'You receive this because of your healthscore notification settings.',
  kinds: { call: 'call', visit: 'visit', email: 'email', qbr: 'QBR' },
  listSep: ', ',
};

const zh: Strings = {
  titles: {
    alert_assigned: (v) => `分配给您的流失风险：${v.account}`,
    alert_on_my_accounts: (v) => `您负责的客户出现流失风险：${v.account}`,
    alert_opened: (v) => `新的流失风险：${v.account}`,
    alert_resolved: (v) =>
      v.resolution === 'scorecard_changed'
        ? `流失风险已撤回（评分卡已变更）：${v.account}`
        : v.resolution === 'rules_changed'
          ? `流失风险已撤回（预警规则已变更）：${v.account}`
          : `流失风险已解除：${v.account}`,
    follow_up_due: (v) => `跟进到期：${v.title}（${v.account}）`,
    follow_up_overdue: (v) => `跟进已逾期：${v.title}（${v.account}）`,
    band_change: (v) => `${v.account} 的健康等级由${v.from}变为${v.to}`,
    daily_digest: (v) => `您的 healthscore 每日摘要（${v.date}）`,
    channel_test: () => '来自 healthscore 的测试消息',
  },
  bands: { green: '绿色', yellow: '黄色', red: '红色', none: '无等级' },
  severities: { low: '低', medium: '中', high: '高', critical: '严重' },
  score: '健康分',
  band: '等级',
  severity: '严重程度',
  due: '到期时间',
  assignee: '负责人',
  openAccount: '查看客户',
  openApp: '打开 healthscore',
  red: '红色客户',
  newlyYellow: '新转为黄色的客户',
  alerts: (counts) => `未处理的预警（${counts}）`,
  followUpsToday: '今日跟进',
  followUpsOverdue: '逾期跟进',
  renewals: '30 天内续约',
  renewalItem: (name, date, days) => `${name}：${date} 续约（${days} 天后）`,
  accountItem: (a) => `${a.name}，健康分 ${a.score ?? '–'}${a.moved.length ? `：${a.moved.join('；')}` : ''}`,
  followUpItem: (f, due) => `${f.title}（${f.account.name}），${due}`,
  nothing: '今天没有需要您处理的事项。',
  summaryDigest: (red, alerts, followUps, renewals) => `红色客户 ${red} 个，未处理预警 ${alerts} 条，跟进 ${followUps} 项，续约 ${renewals} 个`,
  footer: '您收到此消息是因为您在 healthscore 中的通知设置。',
  kinds: { call: '电话', visit: '拜访', email: '邮件', qbr: '季度业务回顾' },
  listSep: '，',
};

export const STRINGS: Record<Language, Strings> = { en, 'zh-CN': zh };

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:mm` on the wall clock of the zone, with the zone's name: the same in both languages. */
export function formatLocalTime(iso: string, timeZone: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  let zone = timeZone;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(at);
  } catch {
    zone = 'UTC';
    parts = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(at);
  }
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return `${get('year')}-${pad(get('month'))}-${pad(get('day'))} ${pad(get('hour') % 24)}:${pad(get('minute'))} ${zone}`;
}

/** The web app's account page: `/accounts/{externalId}`. */
export const accountUrl = (baseUrl: string, externalId: string) => `${baseUrl.replace(/\/+$/, '')}/accounts/${encodeURIComponent(externalId)}`;

const toneOf = (n: NotificationPayload): RenderedMessage['tone'] => {
  const severity = n.alert?.severity;
  if (n.kind === 'alert_resolved') return 'green';
  if (severity === 'critical' || severity === 'high') return 'red';
  if (severity) return 'yellow';
  const band = n.account?.band;
  return band === 'red' || band === 'yellow' || band === 'green' ? band : null;
};

/** Renders a notification in its language; links point into the web app at `baseUrl`. */
export function renderMessage(n: NotificationPayload, baseUrl: string): RenderedMessage {
  const s = STRINGS[n.language] ?? en;
  const band = (b: string | null | undefined) => s.bands[b ?? 'none'] ?? b ?? s.bands.none!;
  const accountName = n.account ? n.account.name : '';
  const vars: Record<string, string> = {
    account: accountName,
    title: n.followUp?.title ?? '',
    from: band(n.account?.previousBand),
    to: band(n.account?.band),
    date: n.digest?.date ?? '',
    resolution: n.alert?.resolution ?? '',
  };
  const facts: [string, string][] = [];
  if (n.account && n.kind !== 'daily_digest') {
    if (n.account.score !== null && n.account.score !== undefined) facts.push([s.score, String(n.account.score)]);
    if (n.account.band) facts.push([s.band, band(n.account.band)]);
  }
  if (n.alert) facts.push([s.severity, s.severities[n.alert.severity] ?? n.alert.severity]);
  if (n.followUp) facts.push([s.due, formatLocalTime(n.followUp.dueAt, n.timezone)]);
  if (n.followUp?.assignee && n.recipient?.email !== n.followUp.assignee) facts.push([s.assignee, n.followUp.assignee]);

  const sections: RenderedSection[] = [];
  let summary: string | null = null;
  if (n.kind === 'daily_digest' && n.digest) {
    const d = n.digest;
    const accountItem = (a: DigestAccount): RenderedItem => ({ text: s.accountItem(a), url: accountUrl(baseUrl, a.externalId) });
    const followUpItem = (f: DigestFollowUp): RenderedItem => ({
      text: s.followUpItem({ ...f, title: f.title }, formatLocalTime(f.dueAt, n.timezone)),
      url: accountUrl(baseUrl, f.account.externalId),
    });
    if (d.red.length) sections.push({ heading: s.red, items: d.red.map(accountItem) });
    if (d.newlyYellow.length) sections.push({ heading: s.newlyYellow, items: d.newlyYellow.map(accountItem) });
    if (d.alerts.length) {
      const counts = (['critical', 'high', 'medium', 'low'] as const)
        .map((sev) => [sev, d.alerts.filter((a) => a.severity === sev).length] as const)
        .filter(([, count]) => count > 0)
        .map(([sev, count]) => `${count} ${s.severities[sev]}`)
        .join(s.listSep);
      sections.push({
        heading: s.alerts(counts),
        items: d.alerts.map((a) => ({
          text: `[${s.severities[a.severity] ?? a.severity}] ${a.account.name}${a.reason ? `: ${a.reason}` : ''}`,
          url: accountUrl(baseUrl, a.account.externalId),
        })),
      });
    }
    if (d.followUpsOverdue.length) sections.push({ heading: s.followUpsOverdue, items: d.followUpsOverdue.map(followUpItem) });
    if (d.followUpsToday.length) sections.push({ heading: s.followUpsToday, items: d.followUpsToday.map(followUpItem) });
    if (d.renewals.length) {
      sections.push({
        heading: s.renewals,
        items: d.renewals.map((r) => ({ text: s.renewalItem(r.account.name, r.date, r.days), url: accountUrl(baseUrl, r.account.externalId) })),
      });
    }
    summary = sections.length
      ? s.summaryDigest(d.red.length, d.alerts.length, d.followUpsToday.length + d.followUpsOverdue.length, d.renewals.length)
      : s.nothing;
  } else if (n.followUp) {
    summary = `${s.kinds[n.followUp.kind] ?? n.followUp.kind}: ${n.followUp.title}`;
  }
  const link =
    n.account && n.kind !== 'daily_digest'
      ? { url: accountUrl(baseUrl, n.account.externalId), label: s.openAccount }
      : n.kind === 'daily_digest' || n.kind === 'channel_test'
        ? { url: baseUrl.replace(/\/+$/, '') || baseUrl, label: s.openApp }
        : null;
  return {
    language: n.language,
    title: (s.titles[n.kind] ?? en.titles[n.kind])(vars),
    summary,
    facts,
    reasons: n.alert?.reasons.slice(0, 4) ?? [],
    sections,
    link,
    tone: toneOf(n),
    footer: s.footer,
  };
}

/* ------------------------------------------------------------------ */
/* Email                                                               */
/* ------------------------------------------------------------------ */

export const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const TONE_COLOURS = { red: '#c62828', yellow: '#b26a00', green: '#2e7d32' } as const;

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The plain-text and HTML parts of an email, from one message. */
export function renderEmail(m: RenderedMessage): RenderedEmail {
  const text: string[] = [m.title, ''];
  if (m.summary) text.push(m.summary, '');
  for (const [label, value] of m.facts) text.push(`${label}: ${value}`);
  if (m.facts.length) text.push('');
  for (const reason of m.reasons) text.push(`- ${reason}`);
  if (m.reasons.length) text.push('');
  for (const section of m.sections) {
    text.push(section.heading, ...section.items.map((i) => `- ${i.text}${i.url ? ` <${i.url}>` : ''}`), '');
  }
  if (m.link) text.push(`${m.link.label}: ${m.link.url}`, '');
  text.push('--', m.footer);

  const colour = m.tone ? TONE_COLOURS[m.tone] : '#37474f';
  const h: string[] = [
    '<!doctype html>',
    `<html lang="${m.language}"><head><meta charset="utf-8"><title>${escapeHtml(m.title)}</title></head>`,
    '<body style="margin:0;padding:24px;font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#212121;background:#fafafa">',
    '<div style="max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #e0e0e0;border-radius:6px;padding:24px">',
    `<h1 style="font-size:20px;margin:0 0 12px;border-left:4px solid ${colour};padding-left:10px">${escapeHtml(m.title)}</h1>`,
  ];
  if (m.summary) h.push(`<p style="margin:0 0 12px">${escapeHtml(m.summary)}</p>`);
  if (m.facts.length) {
    h.push('<table role="presentation" style="border-collapse:collapse;margin:0 0 12px">');
    for (const [label, value] of m.facts) {
      h.push(`<tr><th style="text-align:left;padding:2px 12px 2px 0;font-weight:600">${escapeHtml(label)}</th><td style="padding:2px 0">${escapeHtml(value)}</td></tr>`);
    }
    h.push('</table>');
  }
  if (m.reasons.length) h.push(`<ul style="margin:0 0 12px;padding-left:20px">${m.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`);
  for (const section of m.sections) {
    h.push(`<h2 style="font-size:16px;margin:16px 0 6px">${escapeHtml(section.heading)}</h2>`);
    h.push(
      `<ul style="margin:0;padding-left:20px">${section.items
        .map((i) => `<li>${i.url ? `<a href="${escapeHtml(i.url)}">${escapeHtml(i.text)}</a>` : escapeHtml(i.text)}</li>`)
        .join('')}</ul>`,
    );
  }
  if (m.link) {
    h.push(
      `<p style="margin:20px 0 0"><a href="${escapeHtml(m.link.url)}" style="display:inline-block;background:${colour};color:#ffffff;text-decoration:none;padding:8px 14px;border-radius:4px">${escapeHtml(m.link.label)}</a></p>`,
    );
  }
  h.push(`<p style="margin:24px 0 0;font-size:12px;color:#757575">${escapeHtml(m.footer)}</p>`, '</div></body></html>');
  return { subject: m.title, text: text.join('\n'), html: h.join('\n') };
}
