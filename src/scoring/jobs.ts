import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { pause } from '../lib/pause.js';
import { compactUntil } from '../signals/usage-compaction.js';
import { type AfterScoring, recomputeDirty } from './recompute.js';

/** How long after its occurrence a run keeps draining: nearly to the next minute's run. */
export const RESCORE_WINDOW_MS = 58_000;

/**
 * The incremental rescoring job's body. Cron runs at most once a minute, so one
 * run keeps draining the rescore queue (a pass at once while there is work, else
 * every `idleMs`) until `until`, by default nearly the next occurrence: a new
 * signal is reflected within about a second while each occurrence still runs
 * exactly once across replicas. Runs that meet (a late start, a skewed clock)
 * take disjoint accounts: recomputeDirty claims with SKIP LOCKED.
 */
export async function rescoreUntil(
  db: Kysely<Database>,
  until: Date,
  options: { idleMs?: number; signal?: AbortSignal; after?: AfterScoring } = {},
) {
  const deadline = until.getTime();
  const counts = { passes: 0, accounts: 0, changed: 0, bandChanges: 0, compactions: 0, deltasCompacted: 0 };
  // Usage deltas are folded into the rollups beside the scoring passes, never in front of them;
  // the compaction loop stops with the scoring loop, however that ends.
  const stopCompaction = new AbortController();
  const stop = () => stopCompaction.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const compaction = compactUntil(db, deadline, { idleMs: options.idleMs, signal: stopCompaction.signal }).then(
    (done) => ({ ...done, error: undefined as unknown }),
    (error: unknown) => ({ passes: 0, deltas: 0, error }),
  );
  // Shutdown (options.signal) ends the loop after the pass in progress; a late start (catch-up after downtime) still makes one pass.
  try {
    while ((counts.passes === 0 || Date.now() < deadline) && !options.signal?.aborted) {
      const result = await recomputeDirty(db, undefined, options.after);
      counts.passes++;
      counts.accounts += result.claimed;
      counts.changed += result.changed;
      counts.bandChanges += result.bandChanges.length;
      if (result.claimed === 0) await pause(Math.min(options.idleMs ?? 1_000, Math.max(0, deadline - Date.now())), options.signal);
    }
  } finally {
    stop();
    options.signal?.removeEventListener('abort', stop);
    const compacted = await compaction;
    counts.compactions = compacted.passes;
    counts.deltasCompacted = compacted.deltas;
    // The deltas stay where they are and the next run folds them: the run is recorded as failed meanwhile.
    if (compacted.error) throw compacted.error;
  }
  return counts;
}
