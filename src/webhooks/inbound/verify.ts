import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { newWebhookSecret } from '../../encoding.js';

export interface SignatureHeaders {
  'webhook-id'?: string;
  'webhook-timestamp'?: string;
  'webhook-signature'?: string;
}

export type VerifyFailure = 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'no_matching_signature';

export type VerifyResult = { ok: true; webhookId: string } | { ok: false; reason: VerifyFailure };

/** What a sender is told; never which secret was tried or matched. */
export const FAILURE_DETAIL: Record<VerifyFailure, string> = {
  missing_headers: 'send the webhook-id, webhook-timestamp and webhook-signature headers (Standard Webhooks)',
  bad_timestamp: 'webhook-timestamp must be a Unix time in seconds',
  timestamp_out_of_tolerance: 'webhook-timestamp is more than 5 minutes away from the server clock',
  no_matching_signature: 'the webhook signature could not be verified',
};

/**
 * Verifies a Standard Webhooks delivery against every given secret (several
 * are live during a rotation; the signature header may also carry several).
 * Signing, the 5-minute timestamp tolerance in both directions and the
 * constant-time compare are the `standardwebhooks` library's. `payload` must
 * be the raw body text exactly as received.
 *
 * With no secrets (an unknown source) a throwaway one is tried, so an unknown
 * source answers exactly like a wrong signature.
 */
export function verifyDelivery(secrets: readonly string[], payload: string, headers: SignatureHeaders): VerifyResult {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,15}$/.test(timestamp.trim())) return { ok: false, reason: 'bad_timestamp' };
  const signed = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };

  let reason: VerifyFailure = 'no_matching_signature';
  for (const secret of secrets.length > 0 ? secrets : [newWebhookSecret()]) {
    let webhook: Webhook;
    try {
      webhook = new Webhook(secret);
    } catch {
      continue; // an unusable stored secret never verifies anything
    }
    try {
      webhook.verify(payload, signed, { jsonParse: false });
      return { ok: true, webhookId: id };
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      // The timestamp check comes first and does not depend on the secret.
      if (/timestamp too (old|new)/i.test(err.message)) return { ok: false, reason: 'timestamp_out_of_tolerance' };
      if (/invalid signature headers/i.test(err.message)) reason = 'bad_timestamp';
    }
  }
  return { ok: false, reason };
}
