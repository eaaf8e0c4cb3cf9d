import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import type { Kysely } from 'kysely';
import { registerAccountRoutes } from './accounts/routes.js';
import { raiseAlerts } from './alerts/after-scoring.js';
import { registerAlertRoutes } from './alerts/routes.js';
import { registerFollowUpRoutes } from './follow-ups/routes.js';
import { registerKeyRoutes } from './auth/routes.js';
import { registerJobRoutes } from './jobs/routes.js';
import { registry } from './compose/jobs.js';
import { registerNotificationRoutes } from './notifications/routes.js';
import { registerScoringRoutes } from './scoring/routes.js';
import { registerOutcomeRoutes } from './outcomes/routes.js';
import { registerProofRoutes } from './proof/routes.js';
import { registerSignalRoutes } from './signals/routes.js';
import { isDatabaseUnavailable, isTransientConflict } from './db/errors.js';
import { within } from './lib/deadline.js';
import { ReplicaMonitor } from './db/read-routing.js';
import type { Database } from './db/schema.js';
import type { AppEnv } from './http/env.js';
import { type ProblemCode, problemResponse } from './http/problem.js';
import { DomainError } from './lib/errors.js';
import { perKeyRateLimit } from './http/rate-limit.js';
import { Router } from './http/route.js';
import { errorFields, type Logger } from './logger.js';
import { type DocsAssets, registerSystemRoutes } from './system/routes.js';
import { registerInboundWebhookRoutes } from './webhooks/inbound/routes.js';
import { registerOutboundWebhookRoutes } from './webhooks/outbound/routes.js';
import { createWebApp, type WebAssets } from './web/index.js';

export interface AppDeps {
  /** The database for a request: one shared pool on Node, a per-request client on Workers. */
  database: (env: object | undefined) => Kysely<Database>;
  /** The streaming replica for lag-tolerant reads (DATABASE_READ_URL), same lifetime as `database`; unset: the primary serves them. */
  readDatabase?: (env: object | undefined) => Kysely<Database> | undefined;
  /** DATABASE_READ_MAX_LAG_MS: above this replica lag, those reads go to the primary (default 5000). */
  readMaxLagMs?: number;
  logger: Logger;
  bodyLimitBytes?: number;
  /** REQUEST_TIMEOUT_MS: past it a request is answered 503 + Retry-After whatever its handler is waiting on. */
  requestTimeoutMs?: number;
  docsAssets?: DocsAssets;
  /** Let webhook subscriptions point to localhost and private networks (default false). */
  allowPrivateWebhookUrls?: boolean;
  /** Requests per API key per minute (RATE_LIMIT_PER_MINUTE); unset or 0: no limit. */
  rateLimitPerMinute?: number;
  /** The web app's address, for links in notification previews (WEB_APP_URL). */
  webAppUrl?: string;
  /** The web app's chart library files (src/web); without them pages draw no history chart. */
  webAssets?: WebAssets;
}

const httpStatusCodes: Partial<Record<number, ProblemCode>> = {
  400: 'malformed_request',
  401: 'unauthorized',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * Answers 503 + Retry-After when the handler has not finished in `ms`: a query
 * on a connection lost mid-flight (a database restart) can wait without end,
 * and the client must still get an answer. The handler's transaction is left
 * to fail or finish on its own; nothing it had not committed was acknowledged.
 */
function answerWithin(ms: number): MiddlewareHandler<AppEnv> {
  return (_c, next) =>
    within(next(), ms, () => new DomainError('unavailable', `no answer within ${ms / 1000} s (the database may be restarting); retry the request`, {}, { 'retry-after': '2' }));
}

export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const router = new Router(app, {
    rateLimit: deps.rateLimitPerMinute ? perKeyRateLimit(deps.rateLimitPerMinute) : undefined,
  });

  // One lag measurement shared by the requests of this process (or Worker isolate).
  const replicaMonitor = deps.readDatabase ? new ReplicaMonitor({ maxLagMs: deps.readMaxLagMs ?? 5000 }) : undefined;

  app.use(requestId({ headerName: 'x-request-id' }));
  app.use(async (c, next) => {
    const started = performance.now();
    c.set('db', deps.database(c.env));
    const replica = replicaMonitor && deps.readDatabase?.(c.env);
    if (replica) c.set('readReplica', { db: replica, monitor: replicaMonitor });
    c.set('logger', deps.logger);
    c.set('allowPrivateWebhookUrls', deps.allowPrivateWebhookUrls ?? false);
    c.set('afterScoring', raiseAlerts);
    c.header('x-request-id', c.var.requestId);
    await next();
    deps.logger.info('request', {
      requestId: c.var.requestId,
      method: c.req.method,
      // Calendar URLs carry their secret in the path.
      path: c.req.path.replace(/^\/v1\/calendar\/[^/]+/, '/v1/calendar/[redacted]'),
      route: c.req.routePath,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      keyId: c.var.principal?.keyId,
    });
  });
  if (deps.requestTimeoutMs) app.use(answerWithin(deps.requestTimeoutMs));
  const limitBody = bodyLimit({
    maxSize: deps.bodyLimitBytes ?? 10 * 1024 * 1024,
    onError: () => {
      throw new DomainError('payload_too_large', `the body exceeds ${deps.bodyLimitBytes ?? 10 * 1024 * 1024} bytes`);
    },
  });
  // Not for reads: looking for a body makes @hono/node-server build a full Request, a tenth of a GET's CPU.
  app.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));

  registerSystemRoutes(router, app, deps.docsAssets);
  registerKeyRoutes(router);
  registerAccountRoutes(router);
  registerSignalRoutes(router);
  registerScoringRoutes(router);
  registerOutcomeRoutes(router);
  registerProofRoutes(router);
  registerInboundWebhookRoutes(router);
  registerJobRoutes(router, registry);
  registerOutboundWebhookRoutes(router);
  registerAlertRoutes(router); // churn-risk alerts (src/alerts)
  registerFollowUpRoutes(router);
  registerNotificationRoutes(router, { baseUrl: deps.webAppUrl }); // email and chat notifications (src/notifications)
  app.route('/', createWebApp(deps.webAssets)); // the web app for people (src/web, docs/web-app.md)

  app.notFound((c) => {
    const allowed = router.allowedMethods(c.req.path);
    if (allowed.length > 0) {
      throw new DomainError('method_not_allowed', `${c.req.method} is not allowed here; use ${allowed.join(', ')}`, {
        allow: allowed,
      });
    }
    throw new DomainError('not_found', `no route for ${c.req.method} ${c.req.path}`);
  });

  // The second of the two places that shape errors (the first: the validation hook).
  app.onError((err, c) => {
    if (err instanceof DomainError) {
      const headers: Record<string, string> = { ...err.headers };
      if (err.code === 'method_not_allowed') headers.allow = (err.extensions.allow as string[]).join(', ');
      return problemResponse(c, err.code, err.detail, err.extensions, headers);
    }
    if (err instanceof HTTPException && err.status < 500) {
      // Hono's own client errors (malformed JSON and the like) carry safe messages.
      return problemResponse(c, httpStatusCodes[err.status] ?? 'malformed_request', err.message || 'bad request');
    }
    if (isTransientConflict(err)) {
      // A deadlock or serialization failure rolled the request's transaction back: safe to retry.
      c.var.logger?.warn('transaction conflict', { requestId: c.var.requestId, ...errorFields(err) });
      return problemResponse(c, 'unavailable', 'a concurrent request conflicted with this one and its changes were rolled back; retry it', {}, { 'retry-after': '1' });
    }
    if (isDatabaseUnavailable(err)) {
      // Lost or refused connection, or PostgreSQL restarting: the request failed as a whole; the client retries.
      c.var.logger?.warn('database unavailable', { requestId: c.var.requestId, ...errorFields(err) });
      return problemResponse(c, 'unavailable', 'the database is unavailable for a moment (restarting or unreachable); retry the request', {}, { 'retry-after': '2' });
    }
    c.var.logger?.error('unhandled error', { requestId: c.var.requestId, ...errorFields(err) });
    return problemResponse(c, 'internal_error', 'an unexpected error occurred; quote the requestId when reporting it');
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
