import type { AfterScoring } from '../scoring/recompute.js';
import { enqueueBandChanges } from './digest.js';
import { evaluateRules } from './evaluate.js';

/**
 * What a recompute hands to alerts, in its transaction: a health.band_changed
 * event per band change, then the churn-risk rules over the accounts it
 * scored. Passed to scoring as its `after` hook by the composition roots
 * (createApp, the job registry, the demo), so scoring never imports alerts.
 */
export const raiseAlerts: AfterScoring = async (trx, accountIds, result, context) => {
  let started = performance.now();
  await enqueueBandChanges(trx, result.bandChanges);
  const events = performance.now() - started;
  started = performance.now();
  const { opened, resolved, watched, capped, waiting } = await evaluateRules(trx, accountIds, result, { cause: context?.cause });
  result.alerts = { opened, resolved, watched, capped, waiting };
  if (result.timings) Object.assign(result.timings, { 'after.events': Math.round(events), 'after.rules': Math.round(performance.now() - started) });
};
