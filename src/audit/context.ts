import type { Context, MiddlewareHandler } from 'hono';
import { sql } from 'kysely';
import type { AppEnv, AuditActor, AuditScope } from '../http/env.js';

/**
 * Requests that change something the audit trail records. Each runs in one
 * transaction that first sets `healthscore.audit` (who, from where) for the
 * triggers of sql/0045_audit_trail.sql, so the change and its entry commit
 * together or not at all. Listed here, not on every route, so the features
 * stay unaware of the trail; ingestion, jobs and test sends are not listed
 * (they change no setting, and some of them must commit in steps).
 */
const AUDITED_PATHS: RegExp[] = [
  /^\/v1\/admin\//,
  /^\/v1\/scorecards(\/\d+\/activate|\/fit)?$/,
  /^\/v1\/alert-rules(\/\d+\/activate)?$/,
  /^\/v1\/alerts\/\d+\/(acknowledge|snooze|assign|resolve)$/,
  /^\/v1\/follow-ups\/\d+\/(assign|complete|cancel|reschedule)$/,
  /^\/v1\/retention-pool(\/[^/]+)?$/,
  /^\/v1\/webhooks\/subscriptions(\/\d+(\/secret)?)?$/,
  /^\/v1\/notifications\/(channels(\/\d+(\/routes)?)?|routes(\/\d+)?|people(\/[^/]+)?)$/,
  /^\/v1\/accounts\/[^/]+$/,
  /^\/v1\/people\/[^/]+$/,
  /^\/scim\/v2\//,
  // the web app's forms
  /^\/(admin|inbox|dispatch|follow-ups|scorecards|accounts)(\/|$)/,
];

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const isAuditedRequest = (method: string, path: string) =>
  WRITES.has(method) && !(method === 'PUT' && path.startsWith('/v1/accounts/')) && AUDITED_PATHS.some((p) => p.test(path));

/** The client address: the proxy's header on Workers, else the socket's peer. */
export function clientAddress(c: Context): string | undefined {
  const cf = c.req.header('cf-connecting-ip');
  if (cf) return cf.slice(0, 100);
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress;
}

class RollBack extends Error {}

export function auditedRequests(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!isAuditedRequest(c.req.method, c.req.path)) return next();
    const outer = c.var.db;
    const where = {
      ip: clientAddress(c) ?? null,
      userAgent: c.req.header('user-agent')?.slice(0, 500) ?? null,
      requestId: c.var.requestId,
    };
    try {
      await outer.transaction().execute(async (trx) => {
        let actor: AuditActor = { type: 'system' };
        const write = () => sql`select set_config('healthscore.audit', ${JSON.stringify({ actorType: actor.type, actorId: actor.id ?? null, actorLabel: actor.label ?? null, ...where })}, true)`.execute(trx);
        await write();
        const scope: AuditScope = {
          async identify(who) {
            actor = who;
            await write();
          },
          actor: () => actor,
          where,
        };
        c.set('db', trx);
        c.set('audit', scope);
        try {
          await next();
        } finally {
          c.set('db', outer);
        }
        // A refused request changed nothing, and recorded nothing either.
        if (c.res.status >= 400) throw new RollBack();
      });
    } catch (err) {
      if (!(err instanceof RollBack)) throw err;
    }
  };
}
