import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { recomputeDirty } from './recompute.js';

/**
 * The incremental rescoring job's body. Cron runs at most once a minute, so one
 * run keeps draining the rescore queue every `idleMs` for most of its minute:
 * a new signal is reflected within seconds while each occurrence still runs
 * exactly once across replicas.
 */
export async function rescoreForAMinute(db: Kysely<Database>, options: { budgetMs?: number; idleMs?: number } = {}) {
  const deadline = Date.now() + (options.budgetMs ?? 50_000);
  const counts = { passes: 0, accounts: 0, changed: 0, bandChanges: 0 };
  while (Date.now() < deadline) {
    const result = await recomputeDirty(db);
    counts.passes++;
    counts.accounts += result.claimed;
    counts.changed += result.changed;
    counts.bandChanges += result.bandChanges.length;
    if (result.claimed === 0) await new Promise((r) => setTimeout(r, options.idleMs ?? 2_000));
  }
  return counts;
}
