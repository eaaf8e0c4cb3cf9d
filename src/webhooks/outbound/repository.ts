/**
 * The outgoing webhooks' repository, one file per concern; this file only
 * gathers them for callers outside this folder.
 */
export * from './claims.js';
export * from './delivery-log.js';
export * from './outbox.js';
export * from './results.js';
export * from './retry-policy.js';
export * from './subscriptions.js';
