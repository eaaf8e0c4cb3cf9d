import { z } from 'zod';
import { notFound } from '../../http/problem.js';
import type { Router } from '../../http/route.js';
import { findProposal, listProposals } from './repository.js';

const interval = z.tuple([z.number(), z.number()]).nullable();

export const fitProposalSchema = z
  .object({
    id: z.number(),
    createdAt: z.string(),
    trigger: z.enum(['schedule', 'outcomes_import', 'manual']),
    status: z.enum(['proposed', 'not_better', 'too_few_outcomes', 'failed']).meta({
      description: 'proposed: the draft is better by a margin the interval supports; not_better: fitted but not clearly better; too_few_outcomes / failed: no draft (see reason)',
    }),
    reason: z.string(),
    segment: z.string().nullable(),
    horizonDays: z.number(),
    outcomes: z.object({ total: z.number(), churned: z.number().nullable(), retained: z.number().nullable(), newSinceLastProposal: z.number() }),
    active: z.object({ scorecardId: z.number(), version: z.number(), auc: z.number().nullable(), aucInterval: interval }).nullable(),
    draft: z.object({ scorecardId: z.number(), version: z.number(), auc: z.number().nullable(), aucInterval: interval, fitReportId: z.number() }).nullable(),
    comparison: z.object({ aucDifference: z.number().nullable(), interval, method: z.string(), margin: z.number() }).nullable(),
    better: z.boolean(),
    references: z.object({ logisticRegression: z.object({ auc: z.number().nullable() }), boostedTrees: z.object({ auc: z.number().nullable() }) }).nullable(),
    notified: z.boolean(),
  })
  .meta({ id: 'FitProposal' });

export function registerProposalRoutes(router: Router) {
  router.route(
    {
      method: 'get',
      path: '/v1/fit-proposals',
      scope: 'read',
      operationId: 'listFitProposals',
      summary: 'Fit proposals, newest first',
      description:
        'The job `propose-fit` fits a draft scorecard when enough new outcomes exist, compares it with the active scorecard on the same held-out outcomes (DeLong interval of the AUC gain) and stores a proposal. A proposal never activates anything: activate its draft (`draft.scorecardId`) like any scorecard version.',
      tags: ['scorecards'],
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
      responses: { 200: { description: 'Proposals', schema: z.object({ items: z.array(fitProposalSchema) }) } },
    },
    async (c, { query }) => c.json({ items: await listProposals(c.var.db, query.limit) }),
  );

  router.route(
    {
      method: 'get',
      path: '/v1/fit-proposals/{id}',
      scope: 'read',
      operationId: 'getFitProposal',
      summary: 'A fit proposal',
      tags: ['scorecards'],
      request: { params: z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) }) },
      responses: { 200: { description: 'The proposal', schema: fitProposalSchema }, 404: { description: 'No such proposal' } },
    },
    async (c, { params }) => {
      const proposal = await findProposal(c.var.db, params.id);
      if (!proposal) throw notFound(`fit proposal ${params.id}`);
      return c.json(proposal);
    },
  );
}
