/**
 * Outgoing webhooks: what other features use. Emit an event with
 * `enqueueEvent(trx, { type, accountId, payload })` (or `enqueueEvents` for many) inside the transaction of
 * the change it reports; the delivery worker does the rest.
 */
export { EVENT_TYPES, type EventType, isEventType } from './events.js';
export { type EnqueuedEvent, type EnqueueEventInput, enqueueEvent, enqueueEvents, pruneOutbox } from './outbox.js';
export { DEFAULT_RETRY_SCHEDULE_MS, drainOutbox, OutboxWorker, type OutboxWorkerOptions, startOutboxWorker } from './worker.js';
