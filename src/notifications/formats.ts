import type { ChannelKind } from './model.js';
import type { RenderedMessage } from './templates.js';

/**
 * The chat tools' message formats and signatures, each as the vendor
 * publishes it. Worker-safe: Web Crypto only.
 *
 * - Slack incoming webhook: `{text, blocks}` (mrkdwn).
 * - Microsoft Teams (Workflows "post to a channel when a webhook request is
 *   received", or a legacy incoming webhook): a message with one Adaptive
 *   Card attachment.
 * - WeCom group robot: `{"msgtype":"markdown","markdown":{"content"}}`; the
 *   key is in the URL. Answers `{"errcode":0,"errmsg":"ok"}`.
 * - DingTalk custom robot: `{"msgtype":"markdown","markdown":{title,text}}`;
 *   with signing, `timestamp` (ms) and `sign` query parameters. Answers
 *   `{"errcode":0,…}`.
 * - Feishu/Lark custom bot: an interactive card, with `timestamp` (s) and
 *   `sign` in the body. Answers `{"code":0,…}`.
 */

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Slack mrkdwn control characters. */
const escapeSlack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Markdown that WeCom, DingTalk and Feishu render: brackets and emphasis kept literal. */
const escapeMd = (text: string) => text.replace(/([\\`*_[\]<>])/g, '\\$1');

/** The lines every markdown channel shows, in order. */
function markdownLines(m: RenderedMessage, md: (text: string) => string, opts: { bullets: string }): string[] {
  const lines: string[] = [];
  if (m.summary) lines.push(md(m.summary));
  if (m.facts.length) lines.push(m.facts.map(([label, value]) => `**${md(label)}**: ${md(value)}`).join('  ·  '));
  for (const reason of m.reasons) lines.push(`${opts.bullets}${md(reason)}`);
  for (const section of m.sections) {
    lines.push(`**${md(section.heading)}**`);
    for (const item of section.items.slice(0, 10)) lines.push(`${opts.bullets}${item.url ? `[${md(item.text)}](${item.url})` : md(item.text)}`);
    if (section.items.length > 10) lines.push(`${opts.bullets}… +${section.items.length - 10}`);
  }
  if (m.link) lines.push(`[${md(m.link.label)}](${m.link.url})`);
  return lines;
}

export function slackBody(m: RenderedMessage): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(m.title, 150) } }];
  const body = markdownLines(m, escapeSlack, { bullets: '• ' })
    .map((l) => l.replace(/\*\*(.+?)\*\*/g, '*$1*').replace(/\[([^\]]*)\]\(([^)]+)\)/g, '<$2|$1>'))
    .join('\n');
  if (body) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(body, 2900) } });
  return { text: truncate(m.title, 3000), blocks };
}

export function teamsBody(m: RenderedMessage): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true, ...(m.tone === 'red' ? { color: 'Attention' } : m.tone === 'yellow' ? { color: 'Warning' } : m.tone === 'green' ? { color: 'Good' } : {}) },
  ];
  if (m.summary) body.push({ type: 'TextBlock', text: m.summary, wrap: true });
  if (m.facts.length) body.push({ type: 'FactSet', facts: m.facts.map(([title, value]) => ({ title, value })) });
  for (const reason of m.reasons) body.push({ type: 'TextBlock', text: `- ${reason}`, wrap: true, spacing: 'Small' });
  for (const section of m.sections) {
    body.push({ type: 'TextBlock', text: section.heading, weight: 'Bolder', wrap: true, spacing: 'Medium' });
    body.push({
      type: 'TextBlock',
      wrap: true,
      text: section.items
        .slice(0, 15)
        .map((i) => `- ${i.url ? `[${i.text.replace(/[[\]]/g, '')}](${i.url})` : i.text}`)
        .join('\n'),
    });
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          lang: m.language,
          body,
          ...(m.link ? { actions: [{ type: 'Action.OpenUrl', title: m.link.label, url: m.link.url }] } : {}),
        },
      },
    ],
  };
}

/** WeCom limits markdown content to 4096 bytes. */
const WECOM_MAX_BYTES = 4096;

function byteTruncate(text: string, maxBytes: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= maxBytes) return text;
  let out = '';
  let size = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    if (size + n > maxBytes - 3) break;
    out += ch;
    size += n;
  }
  return `${out}…`;
}

const WECOM_COLOURS = { red: 'warning', yellow: 'comment', green: 'info' } as const;

export function wecomBody(m: RenderedMessage): Record<string, unknown> {
  const title = m.tone ? `<font color="${WECOM_COLOURS[m.tone]}">${escapeMd(m.title)}</font>` : escapeMd(m.title);
  const content = [`### ${title}`, ...markdownLines(m, escapeMd, { bullets: '> ' })].join('\n');
  return { msgtype: 'markdown', markdown: { content: byteTruncate(content, WECOM_MAX_BYTES) } };
}

export function dingtalkBody(m: RenderedMessage): Record<string, unknown> {
  const text = [`#### ${escapeMd(m.title)}`, ...markdownLines(m, escapeMd, { bullets: '- ' })].join('\n\n');
  return { msgtype: 'markdown', markdown: { title: truncate(m.title, 100), text: truncate(text, 18_000) } };
}

const FEISHU_TEMPLATES = { red: 'red', yellow: 'orange', green: 'green' } as const;

export function feishuBody(m: RenderedMessage): Record<string, unknown> {
  const elements: Record<string, unknown>[] = [];
  const lines = markdownLines({ ...m, link: null }, escapeMd, { bullets: '- ' });
  if (lines.length) elements.push({ tag: 'div', text: { tag: 'lark_md', content: truncate(lines.join('\n'), 20_000) } });
  if (m.link) {
    elements.push({ tag: 'action', actions: [{ tag: 'button', text: { tag: 'plain_text', content: m.link.label }, url: m.link.url, type: 'primary' }] });
  }
  return {
    msg_type: 'interactive',
    card: {
      config: { wide_screen_mode: true },
      header: { title: { tag: 'plain_text', content: truncate(m.title, 200) }, template: m.tone ? FEISHU_TEMPLATES[m.tone] : 'blue' },
      elements,
    },
  };
}

export function chatBody(kind: ChannelKind, m: RenderedMessage): Record<string, unknown> {
  switch (kind) {
    case 'slack':
      return slackBody(m);
    case 'teams':
      return teamsBody(m);
    case 'wecom':
      return wecomBody(m);
    case 'dingtalk':
      return dingtalkBody(m);
    case 'feishu':
      return feishuBody(m);
  }
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

async function hmacSha256Base64(key: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(message)));
  return btoa(String.fromCharCode(...mac));
}

/**
 * DingTalk: HMAC-SHA256 of `${timestamp}\n${secret}` keyed with the secret,
 * Base64, URL-encoded; `timestamp` in milliseconds. Both go in the query.
 */
export async function dingtalkSignedUrl(url: string, secret: string, at: Date): Promise<string> {
  const timestamp = String(at.getTime());
  const sign = await hmacSha256Base64(secret, `${timestamp}\n${secret}`);
  const u = new URL(url);
  u.searchParams.delete('timestamp');
  u.searchParams.delete('sign');
  return `${u.toString()}${u.search ? '&' : '?'}timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`;
}

/**
 * Feishu/Lark: HMAC-SHA256 with `${timestamp}\n${secret}` as the key over an
 * empty message, Base64; `timestamp` in seconds. Both go in the body.
 */
export async function feishuSignature(secret: string, at: Date): Promise<{ timestamp: string; sign: string }> {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return { timestamp, sign: await hmacSha256Base64(`${timestamp}\n${secret}`, '') };
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */
/* ------------------------------------------------------------------ */

/**
 * WeCom, DingTalk and Feishu answer HTTP 200 also when they refused the
 * message, with the error in the body. Returns why an answer is a failure,
 * or undefined when it is a success.
 */
export function answerProblem(kind: ChannelKind, body: string): string | undefined {
  if (kind !== 'wecom' && kind !== 'dingtalk' && kind !== 'feishu') return undefined;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return `the ${kind} answer is not JSON: ${truncate(body.replace(/\s+/g, ' ').trim(), 200)}`;
  }
  if (kind === 'feishu') {
    const code = json.code ?? json.StatusCode;
    if (code === 0 || code === '0') return undefined;
    return `feishu error ${String(code)}: ${truncate(String(json.msg ?? json.StatusMessage ?? ''), 200)}`;
  }
  if (json.errcode === 0 || json.errcode === '0') return undefined;
  return `${kind} error ${String(json.errcode)}: ${truncate(String(json.errmsg ?? ''), 200)}`;
}
