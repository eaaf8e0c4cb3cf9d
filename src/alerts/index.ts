/**
 * Churn-risk alerts: what other features use.
 *  - `evaluateRules(trx, accountIds | null)`: evaluate the active rules over
 *    some accounts or all, in the caller's transaction (the recompute hook).
 *  - `enqueueBandChanges(trx, bandChanges)`: `health.band_changed` events.
 *  - `sweepAlerts(db)`: the cron job (every account; snoozes; owners).
 */
export { enqueueBandChanges } from './digest.js';
export { raiseAlerts } from './after-scoring.js';
export { type EvaluationSummary, evaluateRules, sweepAlerts } from './evaluate.js';
export { registerAlertRoutes } from './routes.js';
export { DEFAULT_RULE_SET, type RuleSetDefinition, ruleSetDefinitionSchema } from './rules.js';
