import { answerProblem, chatBody, dingtalkSignedUrl, feishuSignature } from './formats.js';
import { CHANNEL_KINDS, type ChannelKind, type NotificationPayload } from './model.js';
import { renderEmail, renderMessage } from './templates.js';

/**
 * What the outbox's delivery worker needs to send notifications
 * (src/outbox/deliver.ts calls notificationRequest for every
 * claimed delivery). Worker-safe; the mailer itself is Node-only (mailer.ts).
 */
export interface NotificationDelivery {
  /** The web app's address; links go to `${baseUrl}/accounts/{externalId}`. */
  baseUrl: string;
  /** Sends one email. Never throws: every outcome is a result. Unset: email cannot be sent here. */
  sendMail?: (mail: OutgoingMail) => Promise<MailResult>;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** `<msg_…@healthscore>`: the same on every retry and replay, so mail clients can drop duplicates. */
  messageId: string;
  language: string;
}

export interface MailResult {
  ok: boolean;
  /** The SMTP reply code (250, 550…), when there was one. */
  code: number | null;
  error: string | null;
  /** The server refused the recipient for good (550, 551, 553 to RCPT TO): the address's email is disabled. */
  permanent?: boolean;
}

export const DEFAULT_BASE_URL = 'http://localhost:8787';

export type NotificationRequest =
  | { kind: 'http'; url: string; body: string; checkAnswer: (body: string) => string | undefined }
  | { kind: 'email'; mail: OutgoingMail };

interface ClaimLike {
  event: { id: string; payload: Record<string, unknown> };
  subscription: { url: string; format: string; signingSecret?: string | null };
}

const isChatKind = (format: string): format is ChannelKind => (CHANNEL_KINDS as readonly string[]).includes(format);

/**
 * The request (or email) for a delivery of a notification event; undefined
 * for any other event, which the outbox renders as before.
 */
export async function notificationRequest(claim: ClaimLike, at: Date, delivery: NotificationDelivery | undefined): Promise<NotificationRequest | undefined> {
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
