/**
 * The outgoing webhooks' repository, one file per concern; this file only
 * gathers them for callers outside this folder.
 */
export * from '../../outbox/claims.js';
export * from '../../outbox/delivery-log.js';
export * from '../../outbox/outbox.js';
export * from '../../outbox/results.js';
export * from '../../outbox/retry-policy.js';
export * from './subscriptions.js';
