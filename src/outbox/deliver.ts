import { Webhook } from 'standardwebhooks';
import type { WebhookFormat } from './events.js';
import type { ClaimedDelivery } from './claims.js';
import type { AttemptResult } from './results.js';
import { renderSlackMessage } from '../webhooks/outbound/slack.js';
import type { DestinationCheck } from './destinations.js';
import { type NotificationDelivery, notificationRequest } from '../notifications/send.js';

export const USER_AGENT = 'healthscore-webhooks/1';

/** The default time allowed for one request, response included. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** How much of an error response's body goes into the log. */
const RESPONSE_SNIPPET_BYTES = 200;

export interface EventForBody {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  occurredAt: Date;
}

/** The request body: the Standard Webhooks envelope, or a Slack message. */
export function renderBody(event: EventForBody, format: WebhookFormat | string): string {
  if (format === 'slack') return JSON.stringify(renderSlackMessage(event));
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.payload });
}

/**
 * Standard Webhooks headers for one attempt: the event id, this attempt's
 * time, and one `v1,` signature per secret (two during a rotation), made by
 * the `standardwebhooks` library over the exact body bytes.
 */
export function signatureHeaders(eventId: string, body: string, secrets: readonly string[], at: Date): Record<string, string> {
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(eventId, at, body)).join(' '),
  };
}

export interface SendOptions {
  timeoutMs: number;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Refuses destinations before sending (private addresses; see destinations.ts). */
  checkDestination?: DestinationCheck;
  /** Notification channels (src/notifications): links, and the mailer for email. */
  notifications?: NotificationDelivery;
}

/** A log line for a failed request that names no URL, header or secret. */
function describeFailure(err: unknown, timeoutMs: number, url: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no response within ${timeoutMs} ms`;
  const cause = e?.cause;
  const text = cause?.message
    ? `${cause.code && !cause.message.includes(cause.code) ? `${cause.code}: ` : ''}${cause.message}`
    : (e?.message ?? String(err));
  return text.split(url).join('<url>');
}

async function readSnippet(res: Response, maxBytes = RESPONSE_SNIPPET_BYTES): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // a body cut short is still worth the part we have
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\s+/g, ' ').trim();
}

/**
 * One attempt: POST the body with its signature headers, redirects not
 * followed, at most `timeoutMs`. Never throws: every outcome is an
 * AttemptResult for the log.
 */
export async function sendDelivery(claim: ClaimedDelivery, options: SendOptions): Promise<AttemptResult> {
  const doFetch = options.fetch ?? fetch;
  const at = options.now?.() ?? new Date();
  // Notifications (email, chat tools) render their own body, URL and signature.
  const notification = await notificationRequest(claim, at, options.notifications);
  if (notification?.kind === 'email') {
    const started = performance.now();
    if (!options.notifications?.sendMail) return { ok: false, statusCode: null, durationMs: 0, error: 'email is not configured here: set SMTP_URL' };
    const sent = await options.notifications.sendMail(notification.mail);
    return {
      ok: sent.ok,
      statusCode: sent.code,
      durationMs: performance.now() - started,
      error: sent.ok ? null : sent.error,
      ...(sent.permanent ? { disableReason: `the mail server refused the address permanently (${sent.code ?? 'no code'})` } : {}),
    };
  }
  const url = notification?.url ?? claim.subscription.url;
  const body = notification?.body ?? renderBody(claim.event, claim.subscription.format);
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    ...signatureHeaders(claim.event.id, body, claim.subscription.secrets, at),
  };
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const refused = await options.checkDestination?.(url);
  if (refused) return { ok: false, statusCode: null, durationMs: elapsed(), error: refused };
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    return { ok: false, statusCode: null, durationMs: elapsed(), error: describeFailure(err, options.timeoutMs, url).split(claim.subscription.url).join('<url>') };
  }
  if (res.status >= 200 && res.status < 300 && notification) {
    // WeCom, DingTalk and Feishu report a refused message in a 200's body.
    const problem = notification.checkAnswer(await readSnippet(res, 4096));
    return problem
      ? { ok: false, statusCode: res.status, durationMs: elapsed(), error: problem }
      : { ok: true, statusCode: res.status, durationMs: elapsed(), error: null };
  }
  if (res.status >= 200 && res.status < 300) {
    await res.body?.cancel().catch(() => {});
    return { ok: true, statusCode: res.status, durationMs: elapsed(), error: null };
  }
  let error = `HTTP ${res.status}`;
  if (res.status >= 300 && res.status < 400) {
    error += ': redirects are not followed; subscribe the final URL';
    await res.body?.cancel().catch(() => {});
  } else {
    const snippet = await readSnippet(res);
    if (snippet) error += `: ${snippet}`;
  }
  return { ok: false, statusCode: res.status, durationMs: elapsed(), error };
}
