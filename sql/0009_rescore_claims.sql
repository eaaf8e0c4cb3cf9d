-- The incremental rescoring run claims queue rows with a lease in a short
-- transaction of its own, then recomputes, then clears the marks that were
-- not renewed meanwhile. Ingest re-marking an account no longer waits for a
-- whole recompute to commit. See src/scoring/recompute.ts recomputeDirty.
alter table rescore_queue add column claimed_until timestamptz;
create index rescore_queue_marked_idx on rescore_queue (marked_at);
