/** Event types a subscription can ask for. `webhook.test` is what the test endpoint sends. */
export const EVENT_TYPES = [
  'health.band_changed',
  'churn_risk.opened',
  'churn_risk.updated',
  'churn_risk.resolved',
  'follow_up.created',
  'follow_up.due',
  'follow_up.overdue',
  'webhook.test',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: string): value is EventType => (EVENT_TYPES as readonly string[]).includes(value);

export const FORMATS = ['standard', 'slack'] as const;
export type WebhookFormat = (typeof FORMATS)[number];

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new event id, the `webhook-id` of its deliveries: `msg_` and a ULID (48
 * bits of milliseconds, 80 random bits, Crockford base32), so ids sort by
 * creation time and cannot be guessed.
 */
export function newEventId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rest = '';
  for (const byte of random) rest += CROCKFORD[byte % 32];
  return `msg_${time}${rest}`;
}
