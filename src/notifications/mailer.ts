import nodemailer from 'nodemailer';
import type { MailResult, NotificationDelivery, OutgoingMail } from './send.js';
import { DEFAULT_BASE_URL } from './send.js';

/**
 * Email through SMTP with nodemailer (Node only; on Workers email
 * deliveries fail and are retried until a Node process sends them).
 * `SMTP_URL` is `smtp://user:pass@host:587` (STARTTLS when offered) or
 * `smtps://…:465`; the password never reaches a log line.
 */
export interface MailerSettings {
  smtpUrl: string;
  from: string;
  timeoutMs?: number;
}

/** The SMTP reply code of a nodemailer error, and a log line without credentials. */
function describe(err: unknown, smtpUrl: string): MailResult {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string; command?: string };
  let text = e.response ?? (e.code ? `${e.code}: ${e.message ?? ''}` : (e.message ?? String(err)));
  try {
    const u = new URL(smtpUrl);
    if (u.password) text = text.split(decodeURIComponent(u.password)).join('***');
  } catch {
    // not a URL: nothing to mask
  }
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  // Mailbox unavailable, user not local, mailbox name not allowed: the address itself is refused.
  const permanent = code !== null && [550, 551, 553].includes(code) && /RCPT/i.test(e.command ?? '');
  return { ok: false, code, error: `smtp: ${text.slice(0, 400)}`, ...(permanent ? { permanent } : {}) };
}

export function createMailer(settings: MailerSettings): (mail: OutgoingMail) => Promise<MailResult> {
  const timeout = settings.timeoutMs ?? 15_000;
  const transport = nodemailer.createTransport(settings.smtpUrl, {
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    disableFileAccess: true,
    disableUrlAccess: true,
  } as never);
  return async (mail) => {
    try {
      const info = await transport.sendMail({
        from: settings.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: { 'Content-Language': mail.language, 'Auto-Submitted': 'auto-generated', 'X-Healthscore-Notification': '1' },
      });
      const code = Number(/^(\d{3})/.exec(String((info as { response?: string }).response ?? ''))?.[1] ?? 250);
      return { ok: true, code, error: null };
    } catch (err) {
      return describe(err, settings.smtpUrl);
    }
  };
}

/** The notification settings of the delivery worker, from config.ts. */
export function notificationDeliveryFromConfig(config: {
  SMTP_URL?: string;
  SMTP_FROM: string;
  WEB_APP_URL?: string;
  WEBHOOK_REQUEST_TIMEOUT_MS?: number;
}): NotificationDelivery {
  return {
    baseUrl: config.WEB_APP_URL ?? DEFAULT_BASE_URL,
    ...(config.SMTP_URL ? { sendMail: createMailer({ smtpUrl: config.SMTP_URL, from: config.SMTP_FROM, timeoutMs: config.WEBHOOK_REQUEST_TIMEOUT_MS }) } : {}),
  };
}
