import { type Kysely, sql } from 'kysely';
import { isDatabaseUnavailable, isTransientConflict, sqlState } from './errors.js';
import type { Database } from './schema.js';

/**
 * Read routing (docs/scaling.md, "Read replicas"): reads that tolerate a
 * little lag go to a streaming replica (DATABASE_READ_URL) while its lag is
 * under DATABASE_READ_MAX_LAG_MS, else to the primary. Worker-safe.
 */
export type ReadSource = 'replica' | 'primary';

/** What the last probe found: a lag in ms, or null when the replica could not be asked. */
export interface ReplicaState {
  lagMs: number | null;
  checkedAt: number;
}

/** Pure: whether a probe's result lets lag-tolerant reads go to the replica. */
export const replicaUsable = (state: ReplicaState, maxLagMs: number) => state.lagMs !== null && state.lagMs <= maxLagMs;

/**
 * How far the replica's data is behind, in ms. Nothing left to replay counts
 * as no lag: an idle primary commits nothing, so the age of the last replayed
 * commit says nothing then. Paused or slow replay with WAL waiting counts from
 * that commit. A server not in recovery (DATABASE_READ_URL at a primary) has none.
 */
export async function measureReplicaLag(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ lag_ms: number | null }>`
    select case
      when not pg_is_in_recovery() then 0
      when pg_last_wal_receive_lsn() is not distinct from pg_last_wal_replay_lsn() then 0
      else (extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8
    end as lag_ms`.execute(db);
  // No commit replayed yet while WAL waits: unknown, so too far behind.
  return rows[0]?.lag_ms ?? Number.POSITIVE_INFINITY;
}

/** The last change_seq a feed's clock handed out, as this server sees it (sql/0001_foundation.sql). */
export async function feedClock(db: Kysely<Database>, feed: ChangeFeed): Promise<number> {
  const row = await db.selectFrom('change_clocks').select('seq').where('feed', '=', feed).executeTakeFirst();
  return row ? Number(row.seq) : 0;
}

/** The feeds kept by the change clock: the table names of healthscore_stamp_change. */
export type ChangeFeed = 'accounts' | 'health_scores';

/**
 * The replica's lag, measured at most `cacheMs` ago, one probe at a time. A
 * probe that fails or takes longer than `probeTimeoutMs` counts as unreachable.
 */
export class ReplicaMonitor {
  private state: ReplicaState | undefined;
  private probe: Promise<ReplicaState> | undefined;
  readonly maxLagMs: number;
  private readonly cacheMs: number;
  private readonly probeTimeoutMs: number;

  constructor(options: { maxLagMs: number; cacheMs?: number; probeTimeoutMs?: number }) {
    this.maxLagMs = options.maxLagMs;
    this.cacheMs = options.cacheMs ?? 1_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1_000;
  }

  async usable(replica: Kysely<Database>): Promise<boolean> {
    const state = this.state;
    if (state && Date.now() - state.checkedAt < this.cacheMs) return replicaUsable(state, this.maxLagMs);
    this.probe ??= this.measure(replica).finally(() => {
      this.probe = undefined;
    });
    return replicaUsable(await this.probe, this.maxLagMs);
  }

  /** A read on the replica failed: the primary serves until the next probe. */
  markUnreachable(): void {
    this.state = { lagMs: null, checkedAt: Date.now() };
  }

  private async measure(replica: Kysely<Database>): Promise<ReplicaState> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.probeTimeoutMs);
    });
    const lagMs = await Promise.race([measureReplicaLag(replica).catch(() => null), timeout]);
    clearTimeout(timer);
    this.state = { lagMs, checkedAt: Date.now() };
    return this.state;
  }
}

/** The replica a request may read from (c.var.readReplica). */
export interface ReadReplica {
  db: Kysely<Database>;
  monitor: ReplicaMonitor;
}

/** Replica errors the primary can answer instead: unreachable, or a query cancelled by a recovery conflict (40001, 57P04). */
export const replicaFailed = (err: unknown) => isDatabaseUnavailable(err) || isTransientConflict(err) || sqlState(err) === '57P04';
