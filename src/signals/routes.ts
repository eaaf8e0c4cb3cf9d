import { z } from 'zod';
import type { Router } from '../http/route.js';
import { type SignalName, SIGNALS, ingestBatch } from './ingest.js';
import { settleImports } from './imports.js';
import { MAX_SIGNAL_BATCH, ingestQuerySchema, signalBatchRequestSchema, signalBatchResponseSchema } from './schemas.js';

const settleRequestSchema = z.object({ accounts: z.array(z.string().min(1).max(200)).max(10_000).optional() }).strict();
const settleResponseSchema = z.object({ settled: z.number().int() });

const ROUTES: Record<SignalName, { path: string; operationId: string; summary: string; idField: string }> = {
  usage: { path: '/v1/usage/batch', operationId: 'ingestUsage', summary: 'Record usage events', idField: 'eventId' },
  tickets: { path: '/v1/tickets/batch', operationId: 'ingestTickets', summary: 'Create or update support tickets', idField: 'ticketId' },
  surveys: { path: '/v1/surveys/batch', operationId: 'ingestSurveys', summary: 'Record survey responses (NPS, CSAT, CES)', idField: 'responseId' },
  contracts: { path: '/v1/contracts/batch', operationId: 'ingestContracts', summary: 'Create or update contracts and renewals', idField: 'contractId' },
  outcomes: { path: '/v1/outcomes/batch', operationId: 'importOutcomes', summary: 'Import renewal outcomes (renewed, churned, cancelled, downgraded)', idField: 'outcomeId' },
};

export function registerSignalRoutes(router: Router) {
  for (const [name, route] of Object.entries(ROUTES) as [SignalName, (typeof ROUTES)[SignalName]][]) {
    const kind = SIGNALS[name];
    router.route(
      {
        method: 'post',
        path: route.path,
        scope: 'ingest',
        operationId: route.operationId,
        summary: route.summary,
        description: `Up to ${MAX_SIGNAL_BATCH} items, one result per item in order. Items that fail validation or name an unknown account are reported with their index and reason; the valid ones are stored. Natural ids make re-sends harmless. Touched accounts are queued for rescoring.`,
        tags: ['signals'],
        request: { query: ingestQuerySchema, body: signalBatchRequestSchema.meta({ description: `Items: ${kind.name}s` }) },
        documentedBody: signalBatchRequestSchema.extend({ items: z.array(kind.schema).min(1).max(MAX_SIGNAL_BATCH) }).meta({ description: `Items: ${kind.name}s` }),
        responses: { 200: { description: 'Per-item results', schema: signalBatchResponseSchema } },
      },
      async (c, { query, body }) => {
        const result = await ingestBatch(c.var.db, kind as (typeof SIGNALS)['usage'], body.items, {
          createMissingAccounts: query.create_missing_accounts,
          idField: route.idField,
        });
        return c.json(result);
      },
    );
  }

  router.route(
    {
      method: 'post',
      path: '/v1/imports/settle',
      scope: 'ingest',
      operationId: 'settleImports',
      summary: 'Declare an import of history over: its accounts may get alerts now',
      description:
        'Back-dated signals (more than 2 days old when they arrive) mark their accounts as importing, and their churn-risk alerts wait until the import has settled: the active rule set’s `settleMinutes` after the last back-dated batch, or this call. `accounts` (external ids) limits it to some accounts; without it, every import ends.',
      tags: ['signals'],
      request: { body: settleRequestSchema },
      responses: { 200: { description: 'How many accounts’ imports ended', schema: settleResponseSchema } },
    },
    async (c, { body }) => {
      let ids: number[] | null = null;
      if (body.accounts) {
        const rows = await c.var.db.selectFrom('accounts').select('id').where('external_id', 'in', body.accounts.length ? body.accounts : ['']).execute();
        ids = rows.map((r) => r.id);
      }
      return c.json({ settled: await settleImports(c.var.db, ids) });
    },
  );
}
