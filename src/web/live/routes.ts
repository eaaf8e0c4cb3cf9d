import type { Hono } from 'hono';
import { type Kysely, sql } from 'kysely';
import { streamSSE } from 'hono/streaming';
import type { Database } from '../../db/schema.js';
import { PageError, requirePermission, type WebContextOf, type WebEnv } from '../context.js';
import { findAccountId } from '../../accounts/repository.js';

type Db = Kysely<Database>;

/**
 * Live updates for open pages, as server-sent events. The stream polls the
 * change markers the service already keeps (health_scores.change_seq, the
 * alerts' and follow-ups' updated_at) once a second, and sends `change` when
 * they move; the page then refetches itself and swaps its live regions.
 * Polling the database (rather than LISTEN) works the same on every
 * PostgreSQL, embedded or server, and across replicas.
 */
export const LIVE_POLL_MS = 1000;
/** A stream ends after this; EventSource reconnects by itself. */
export const LIVE_MAX_MS = 5 * 60_000;

export async function accountToken(db: Db, accountId: number): Promise<string> {
  const { rows } = await sql<{ t: string }>`
    select concat_ws(':',
      (select change_seq from health_scores where account_id = ${accountId}),
      (select extract(epoch from max(updated_at))::text from alerts where account_id = ${accountId}),
      (select extract(epoch from max(updated_at))::text from follow_ups where account_id = ${accountId})) as t`.execute(db);
  return rows[0]?.t ?? '';
}

export async function inboxToken(db: Db): Promise<string> {
  const { rows } = await sql<{ t: string }>`
    select concat_ws(':', (select extract(epoch from max(updated_at))::text from alerts), (select count(*) from alerts where status <> 'resolved')) as t`.execute(db);
  return rows[0]?.t ?? '';
}

/** Open streams: ended at once by endLiveStreams() (a graceful shutdown calls it before closing the server). */
const open = new Set<() => void>();

/** Ends every open live stream of this process (browsers reconnect, to another replica if this one is going). */
export function endLiveStreams(): void {
  for (const end of open) end();
}

function stream(c: WebContextOf, token: () => Promise<string>, since: string | undefined) {
  return streamSSE(c, async (s) => {
    let ended = false;
    const end = () => {
      ended = true;
    };
    open.add(end);
    s.onAbort(end);
    try {
      const started = Date.now();
      let last = since ?? (await token());
      await s.writeSSE({ event: 'ready', data: '' });
      while (!ended && Date.now() - started < LIVE_MAX_MS) {
        let now: string;
        try {
          now = await token();
        } catch {
          break; // the database went away (shutdown): the browser reconnects
        }
        if (now !== last) {
          last = now;
          await s.writeSSE({ event: 'change', data: now });
        }
        await s.sleep(LIVE_POLL_MS);
      }
    } finally {
      open.delete(end);
    }
  });
}

export function registerLiveRoutes(web: Hono<WebEnv>) {
  web.get('/live/accounts/:externalId', async (c) => {
    requirePermission(c, 'account');
    const id = await findAccountId(c.var.db, c.req.param('externalId'));
    if (id === undefined) throw new PageError(404, 'error.notFound');
    return stream(c, () => accountToken(c.var.db, id), c.req.query('since'));
  });

  web.get('/live/inbox', (c) => {
    requirePermission(c, 'inbox');
    return stream(c, () => inboxToken(c.var.db), c.req.query('since'));
  });
}
