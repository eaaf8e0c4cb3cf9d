/**
 * The `slack` format: the body of a Slack incoming webhook (`{text, blocks}`),
 * rendered from an event. `text` is the notification and fallback line;
 * `blocks` show the event's scalar fields. Payload shapes belong to the
 * features that emit events, so this reads well-known field names when they
 * are there and lists the rest.
 */
export interface SlackEventInput {
  id: string;
  type: string;
  occurredAt: Date;
  payload: Record<string, unknown>;
}

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

const TITLES: Record<string, string> = {
  'health.band_changed': ':traffic_light: Health band changed',
  'churn_risk.opened': ':rotating_light: Churn risk opened',
  'churn_risk.updated': ':warning: Churn risk updated',
  'churn_risk.resolved': ':white_check_mark: Churn risk resolved',
  'follow_up.created': ':memo: Follow-up created',
  'follow_up.due': ':alarm_clock: Follow-up due',
  'follow_up.overdue': ':hourglass: Follow-up overdue',
  'webhook.test': ':wave: Test event from healthscore',
};

const MAX_FIELDS = 10;
const MAX_FIELD_TEXT = 300;

/** Slack's mrkdwn control characters. */
export const escapeSlack = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== ''
    ? value
    : typeof value === 'number' && Number.isFinite(value)
      ? String(value)
      : undefined;

function accountLabel(payload: Record<string, unknown>): string | undefined {
  const account = payload.account;
  if (account && typeof account === 'object') {
    const a = account as Record<string, unknown>;
    const name = str(a.name);
    const externalId = str(a.externalId) ?? str(a.external_id);
    if (name && externalId && name !== externalId) return `${name} (${externalId})`;
    return name ?? externalId;
  }
  if (typeof account === 'string') return account;
  return str(payload.accountName) ?? str(payload.accountExternalId) ?? str(payload.externalId);
}

function summary(type: string, p: Record<string, unknown>): string | undefined {
  switch (type) {
    case 'health.band_changed': {
      const from = str(p.from) ?? str(p.previousBand) ?? str(p.fromBand);
      const to = str(p.to) ?? str(p.band) ?? str(p.toBand);
      const score = str(p.score);
      if (!to) return undefined;
      return `${from ? `from *${from}* ` : ''}to *${to}*${score ? ` (score ${score})` : ''}`;
    }
    case 'follow_up.created':
    case 'follow_up.due':
    case 'follow_up.overdue': {
      const title = str(p.title) ?? str(p.summary);
      const due = str(p.dueAt) ?? str(p.dueDate);
      if (!title && !due) return undefined;
      return [title, due ? `due ${due}` : undefined].filter(Boolean).join(' · ');
    }
    case 'webhook.test':
      return 'This subscription can receive events.';
    default:
      return str(p.reason) ?? str(p.summary) ?? str(p.title);
  }
}

export function renderSlackMessage(event: SlackEventInput): SlackMessage {
  const title = TITLES[event.type] ?? `Event ${event.type}`;
  const account = accountLabel(event.payload);
  const line = summary(event.type, event.payload);
  const headline = `${title}${account ? ` for ${escapeSlack(account)}` : ''}`;

  const fields = Object.entries(event.payload)
    .filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value))
    .slice(0, MAX_FIELDS)
    .map(([key, value]) => ({
      type: 'mrkdwn',
      text: truncate(`*${escapeSlack(key)}*\n${escapeSlack(String(value))}`, MAX_FIELD_TEXT),
    }));

  const unix = Math.floor(event.occurredAt.getTime() / 1000);
  const blocks: Record<string, unknown>[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(`*${headline}*${line ? `\n${escapeSlack(line)}` : ''}`, 2900) },
    },
  ];
  if (fields.length > 0) blocks.push({ type: 'section', fields });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `\`${escapeSlack(event.type)}\` · ${event.id} · <!date^${unix}^{date_short_pretty} {time}|${event.occurredAt.toISOString()}>`,
      },
    ],
  });

  return { text: truncate(`${title.replace(/^:[a-z_]+: /, '')}${account ? ` for ${escapeSlack(account)}` : ''}${line ? `: ${escapeSlack(line)}` : ''}`, 3000), blocks };
}
