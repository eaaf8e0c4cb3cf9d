import { setTimeout as sleep } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';

/** The application_name the bench gives the service child's connections, so their sessions can be told apart. */
export const SERVICE_APPLICATION_NAME = 'healthscore-bench-service';

export function serviceDatabaseUrl(url: string) {
  const u = new URL(url);
  u.searchParams.set('application_name', SERVICE_APPLICATION_NAME);
  return u.toString();
}

export interface LockWaits {
  /** Active-session samples of the service's connections. */
  active: number;
  /** Of those, waiting on a heavyweight lock (row or transaction locks). */
  locked: number;
  /** The statements most often found waiting, with their sample counts. */
  top: [string, number][];
}

/**
 * Samples pg_stat_activity every `everyMs` for the service's sessions until
 * stopped: how often they wait on a lock, and in which statement.
 */
export function sampleLockWaits(db: Kysely<any>, everyMs = 100) {
  let running = true;
  const waits: LockWaits = { active: 0, locked: 0, top: [] };
  const statements = new Map<string, number>();
  const loop = (async () => {
    while (running) {
      const { rows } = await sql<{ locked: boolean; statement: string }>`
        select wait_event_type = 'Lock' as locked, regexp_replace(left(query, 200), '[[:space:]]+', ' ', 'g') as statement
          from pg_stat_activity
         where datname = current_database() and state = 'active' and pid <> pg_backend_pid()
           and application_name = ${SERVICE_APPLICATION_NAME}`.execute(db);
      waits.active += rows.length;
      for (const row of rows.filter((r) => r.locked)) {
        waits.locked++;
        const key = row.statement.trim().slice(0, 70);
        statements.set(key, (statements.get(key) ?? 0) + 1);
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<LockWaits> {
      running = false;
      await loop;
      waits.top = [...statements].sort((a, b) => b[1] - a[1]).slice(0, 3);
      return waits;
    },
  };
}

export function describeLockWaits(w: LockWaits) {
  const share = w.active ? `${Math.round((100 * w.locked) / w.active)} %` : 'n/a';
  const top = w.top.map(([q, n]) => `\`${q}…\` (${n})`).join('; ');
  return `${share} of active-session samples waiting on a lock (${w.locked}/${w.active})${top ? `; most often: ${top}` : ''}`;
}
