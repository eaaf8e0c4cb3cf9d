import { lagTolerantRead } from '../http/read-routing.js';
import type { Router } from '../http/route.js';
import { listOutcomes } from './repository.js';
import { outcomeListQuerySchema, outcomeListSchema } from './schemas.js';

export function registerOutcomeRoutes(router: Router) {
  router.route(
    {
      method: 'get',
      path: '/v1/outcomes',
      scope: 'read',
      operationId: 'listOutcomes',
      summary: 'Renewal outcomes: the labels scores are judged on',
      description:
        'Recorded by themselves from contracts (status renewed, churned, cancelled or downgraded, dated by the renewal date or the change if earlier) and accounts (lifecycle stage `churned`), or imported (`POST /v1/outcomes/batch`, CSV). In date order; keep `nextCursor` for the next page.',
      tags: ['outcomes'],
      request: { query: outcomeListQuerySchema },
      responses: { 200: { description: 'A page of outcomes', schema: outcomeListSchema } },
    },
    async (c, { query }) =>
      c.json(await lagTolerantRead(c, (db) => listOutcomes(db, { from: query.from, to: query.to, kind: query.kind, after: query.cursor, limit: query.limit }))),
  );
}
