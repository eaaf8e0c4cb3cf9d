import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { isSingleSession, letRequestsThrough } from '../db/session.js';
import { pause } from '../lib/pause.js';
import { type AfterScoring, recomputeDirty } from './recompute.js';

/**
 * A step that runs beside the scoring passes until `deadline` or until
 * `signal` aborts, handed in by the registry (src/compose/jobs.ts): the usage
 * compaction of src/signals/usage-compaction.ts.
 */
export type BesideScoring = (deadline: number, options: { idleMs?: number; signal: AbortSignal }) => Promise<{ passes: number; deltas: number }>;

/** Accounts per rescoring pass on the embedded database, so one pass holds its one session briefly. */
export const EMBEDDED_PASS_ACCOUNTS = 5;

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
  options: { idleMs?: number; signal?: AbortSignal; after?: AfterScoring; beside?: BesideScoring } = {},
) {
  const deadline = until.getTime();
  const counts = { passes: 0, accounts: 0, changed: 0, bandChanges: 0, compactions: 0, deltasCompacted: 0 };
  // The step beside (usage deltas folded into the rollups) runs beside the scoring passes, never in
  // front of them; it stops with the scoring loop, however that ends.
  const stopCompaction = new AbortController();
  const stop = () => stopCompaction.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  const beside = options.beside ?? (async () => ({ passes: 0, deltas: 0 }));
  const compaction = beside(deadline, { idleMs: options.idleMs, signal: stopCompaction.signal }).then(
    (done) => ({ ...done, error: undefined as unknown }),
    (error: unknown) => ({ passes: 0, deltas: 0, error }),
  );
  // Shutdown (options.signal) ends the loop after the pass in progress; a late start (catch-up after downtime) still makes one pass.
  try {
    while ((counts.passes === 0 || Date.now() < deadline) && !options.signal?.aborted) {
      // One session for everyone (embedded): small passes, with requests let through between them (#24).
      const single = isSingleSession(db);
      const result = await recomputeDirty(db, single ? EMBEDDED_PASS_ACCOUNTS : undefined, options.after);
      if (single) await letRequestsThrough();
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
