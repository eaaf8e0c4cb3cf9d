import type { FormatContext, FormatInput, MailResult, OutgoingMail, RenderedDelivery } from '../outbox/parts.js';
import { answerProblem, chatBody, dingtalkSignedUrl, feishuSignature } from './formats.js';
import { CHANNEL_KINDS, type ChannelKind, type NotificationPayload } from './model.js';
import { renderEmail, renderMessage } from './templates.js';

/**
 * What the outbox's delivery worker hands a notification format (src/outbox/parts.ts):
 * the web app's address for links and the mailer for email. Worker-safe; the
 * mailer itself is Node-only (mailer.ts).
 */
export type NotificationDelivery = FormatContext;
export type { MailResult, OutgoingMail };

export const DEFAULT_BASE_URL = 'http://localhost:8787';

type ClaimLike = Pick<FormatInput, 'subscription'> & { event: Pick<FormatInput['event'], 'id' | 'payload'> };

const isChatKind = (format: string): format is ChannelKind => (CHANNEL_KINDS as readonly string[]).includes(format);

/**
 * The request (or email) for a delivery of a notification event; undefined
 * for any other event, which the outbox renders as before. The notification
 * formats the composition root hands the outbox (src/compose/outbox.ts).
 */
export async function notificationRequest(claim: ClaimLike, at: Date, delivery: NotificationDelivery | undefined): Promise<RenderedDelivery | undefined> {
  const payload = claim.event.payload.notification as NotificationPayload | undefined;
  const format = claim.subscription.format;
  if (!payload || typeof payload !== 'object' || (format !== 'email' && !isChatKind(format))) return undefined;
  const message = renderMessage(payload, delivery?.baseUrl ?? DEFAULT_BASE_URL);
  if (format === 'email') {
    const email = renderEmail(message);
    return {
      kind: 'email',
      mail: {
        to: claim.subscription.url.replace(/^mailto:/, ''),
        ...email,
        messageId: `<${claim.event.id}@healthscore>`,
        language: payload.language,
      },
    };
  }
  const body = chatBody(format, message);
  let url = claim.subscription.url;
  const secret = claim.subscription.signingSecret;
  if (format === 'dingtalk' && secret) url = await dingtalkSignedUrl(url, secret, at);
  if (format === 'feishu' && secret) Object.assign(body, await feishuSignature(secret, at));
  return { kind: 'http', url, body: JSON.stringify(body), checkAnswer: (answer) => answerProblem(format, answer) };
}
