import { notifyForEvents } from '../notifications/fanout.js';
import { CHANNEL_KINDS } from '../notifications/model.js';
import { notificationRequest } from '../notifications/send.js';
import { type DeliveryFormat, handOutboxParts } from '../outbox/parts.js';
import { renderSlackMessage } from '../webhooks/outbound/slack.js';

/**
 * The outbox's parts (src/outbox/parts.ts), wired here so the engine imports no
 * feature: the notification fan-out runs after events are enqueued, and the
 * formats render what the Standard Webhooks envelope does not.
 */

/** Chat channels and email render notification events (src/notifications/send.ts). */
const notificationFormat: DeliveryFormat = (delivery, at, context) => notificationRequest(delivery, at, context);

/** `slack`: a notification on a Slack channel, else an event for a Slack incoming webhook (src/webhooks/outbound/slack.ts). */
const slackFormat: DeliveryFormat = async (delivery, at, context) =>
  (await notificationRequest(delivery, at, context)) ?? {
    kind: 'http',
    url: delivery.subscription.url,
    body: JSON.stringify(renderSlackMessage(delivery.event)),
  };

export const DELIVERY_FORMATS: Readonly<Record<string, DeliveryFormat>> = {
  ...Object.fromEntries([...CHANNEL_KINDS, 'email'].map((format) => [format, notificationFormat])),
  slack: slackFormat,
};

/** Hands the outbox its parts; every entry calls it once at start-up (calling it again changes nothing). */
export function wireOutbox(): void {
  handOutboxParts({ afterEnqueue: notifyForEvents, formats: DELIVERY_FORMATS });
}
