import type { Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/**
 * What the outbox engine is handed by the composition root (src/compose/outbox.ts)
 * instead of importing features: what runs after events are enqueued (the
 * notification fan-out) and the delivery formats beyond the Standard Webhooks
 * envelope (Slack, the chat tools, email). Every entry (src/node.ts,
 * src/worker.ts, src/cli/main.ts, src/app.ts, the test setup) hands them over
 * once before anything is enqueued or sent. Worker-safe.
 */

/** An event as enqueueEvents wrote it, handed to the afterEnqueue hook. */
export interface WrittenEvent {
  id: string;
  type: string;
  accountId: number | null;
  payload: Record<string, unknown>;
}

/** Runs in the transaction that enqueued the events, after they are written. */
export type AfterEnqueue = (trx: Transaction<Database>, events: readonly WrittenEvent[]) => Promise<unknown>;

/** One email of a delivery whose format sends mail. */
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

/**
 * What a process hands the formats it sends with: the web app's address for
 * links (`${baseUrl}/accounts/{externalId}`), and a mailer where email can be
 * sent (Node, SMTP_URL; src/notifications/mailer.ts).
 */
export interface FormatContext {
  baseUrl: string;
  /** Sends one email. Never throws: every outcome is a result. Unset: email cannot be sent here. */
  sendMail?: (mail: OutgoingMail) => Promise<MailResult>;
}

/** What a format reads of a claimed delivery. */
export interface FormatInput {
  event: { id: string; type: string; payload: Record<string, unknown>; occurredAt: Date };
  subscription: { url: string; format: string; signingSecret?: string | null };
}

/** A delivery as a format renders it: a POST (signed by the outbox), or an email. */
export type RenderedDelivery =
  | {
      kind: 'http';
      url: string;
      body: string;
      /** A 2xx answer that still reports a refusal (WeCom, DingTalk, Feishu): the problem, or undefined. */
      checkAnswer?: (answer: string) => string | undefined;
    }
  | { kind: 'email'; mail: OutgoingMail };

/** A delivery format: renders a delivery, or returns undefined to send the Standard Webhooks envelope. */
export type DeliveryFormat = (delivery: FormatInput, at: Date, context: FormatContext | undefined) => Promise<RenderedDelivery | undefined>;

export interface OutboxParts {
  afterEnqueue: AfterEnqueue;
  /** By subscription format (`slack`, `email`, `wecom`…); `standard` and unknown formats send the envelope. */
  formats: Readonly<Record<string, DeliveryFormat>>;
}

let handed: OutboxParts | undefined;

/** The composition root hands the outbox its parts (src/compose/outbox.ts); handing them again replaces them. */
export function handOutboxParts(parts: OutboxParts): void {
  handed = parts;
}

/** The parts handed over; throws when none were, so a missing wiring is loud, never a silently dropped notification. */
export function outboxParts(): OutboxParts {
  if (!handed) throw new Error('the outbox was not handed its parts: call wireOutbox() (src/compose/outbox.ts) at start-up');
  return handed;
}
