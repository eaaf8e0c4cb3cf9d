import { z } from 'zod';
import { inTransaction } from '../db/transaction.js';
import { notFound } from '../lib/errors.js';
import type { Router } from '../http/route.js';
import { activeScorecards, createScorecardVersion, ensureDefaultScorecard, findScorecard } from '../scoring/scorecards.js';
import { runBacktest } from './backtest.js';
import { fitScorecard } from './fit.js';
import { findReport, listReports, saveReport } from './reports.js';
import { backtestRequestSchema, backtestResponseSchema, fitRequestSchema, fitResponseSchema, storedReportSchema } from './schemas.js';

const nanToNull = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null);

export function registerProofRoutes(router: Router) {
  router.route(
    {
      method: 'post',
      path: '/v1/scorecards/backtest',
      scope: 'read',
      operationId: 'backtestScorecard',
      summary: 'Test a scorecard against renewal outcomes: every account scored as it stood before its outcome',
      description:
        'Scores each renewal outcome’s account as of `horizonDays` before the outcome (point in time: nothing dated later counts) with the active scorecard, a stored version or a draft, and reports ROC-AUC with its 95 % interval, PR-AUC, churn rate and ARR by band, churners caught, lift in the riskiest decile and each measure’s own AUC, direction and coverage. The report is stored (`GET /v1/backtests/{id}`).',
      tags: ['scorecards'],
      request: { body: backtestRequestSchema },
      responses: { 201: { description: 'The stored report', schema: backtestResponseSchema } },
    },
    async (c, { body }) => {
      await ensureDefaultScorecard(c.var.db);
      const card = body.definition
        ? null
        : body.scorecardId
          ? await findScorecard(c.var.db, body.scorecardId)
          : (await activeScorecards(c.var.db)).find((s) => s.segment === body.segment);
      if (!body.definition && !card) throw notFound(body.scorecardId ? `scorecard ${body.scorecardId}` : `an active scorecard for segment ${body.segment ?? '(default)'}`);
      const definition = body.definition ?? card!.definition;
      const options = { horizonDays: body.horizonDays, from: body.from ?? null, to: body.to ?? null };
      const report = await runBacktest(c.var.db, definition, { horizonDays: body.horizonDays, from: body.from, to: body.to });
      const stored = await saveReport(c.var.db, { kind: 'backtest', scorecardId: card?.id ?? null, definition, options, report });
      return c.json(
        {
          id: stored.id,
          createdAt: stored.createdAt,
          scorecard: card ? { id: card.id, version: card.version, segment: card.segment } : null,
          options,
          report,
        },
        201,
      );
    },
  );

  router.route(
    {
      method: 'post',
      path: '/v1/scorecards/fit',
      scope: 'admin',
      operationId: 'fitScorecard',
      summary: 'Learn a scorecard from renewal outcomes (saved as an inactive draft version)',
      description:
        'Per feature a monotone step mapping (binned, isotonic, direction learned) and a weight from a regularised logistic regression; features without signal are dropped with a reason. Validated by k-fold cross-validation and a time split (train on earlier outcomes, test on later ones). The result is an ordinary scorecard with a churn-probability calibration: preview, backtest and activate it like any other. Needs at least 50 churned and 50 retained outcomes (422 otherwise).',
      tags: ['scorecards'],
      request: { body: fitRequestSchema },
      responses: { 201: { description: 'The draft scorecard, the fit and its backtest', schema: fitResponseSchema }, 422: { description: 'Too few outcomes' } },
    },
    async (c, { body }) => {
      const fitted = await fitScorecard(c.var.db, {
        horizonDays: body.horizonDays,
        from: body.from,
        to: body.to,
        connected: body.connected,
        features: body.features,
        name: body.name,
        seed: body.seed,
      });
      const { result } = fitted;
      const fit = {
        observations: result.observations,
        churned: result.churned,
        measures: result.measures.map((m) => ({ key: m.key, label: m.label, feature: m.feature, weight: m.weight, direction: m.direction, auc: m.auc, coverage: m.coverage })),
        dropped: result.dropped,
        calibration: result.calibration,
        validation: {
          crossValidatedAuc: {
            mean: nanToNull(result.validation.crossValidatedAuc.mean),
            sd: nanToNull(result.validation.crossValidatedAuc.sd),
            folds: result.validation.crossValidatedAuc.folds.map(nanToNull),
          },
          temporal: {
            ...result.validation.temporal,
            trainAuc: nanToNull(result.validation.temporal.trainAuc),
            testAuc: nanToNull(result.validation.temporal.testAuc),
          },
        },
      };
      const { card, stored } = await inTransaction(c.var.db, async (trx) => {
        const card = await createScorecardVersion(trx, body.segment, fitted.definition);
        const stored = await saveReport(trx, { kind: 'fit', scorecardId: card.id, definition: fitted.definition, options: body, report: { fit, backtest: fitted.backtest } });
        return { card, stored };
      });
      return c.json(
        {
          reportId: stored.id,
          scorecard: { id: card.id, version: card.version, segment: card.segment, active: card.active, definition: card.definition },
          fit,
          backtest: fitted.backtest,
        },
        201,
      );
    },
  );

  router.route(
    {
      method: 'get',
      path: '/v1/backtests',
      scope: 'read',
      operationId: 'listBacktests',
      summary: 'Stored backtest and fit reports, newest first',
      tags: ['scorecards'],
      request: { query: z.object({ kind: z.enum(['backtest', 'fit']).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }) },
      responses: { 200: { description: 'Reports', schema: z.object({ items: z.array(storedReportSchema) }) } },
    },
    async (c, { query }) => c.json({ items: await listReports(c.var.db, query.kind, query.limit) }),
  );

  router.route(
    {
      method: 'get',
      path: '/v1/backtests/{id}',
      scope: 'read',
      operationId: 'getBacktest',
      summary: 'A stored backtest or fit report',
      tags: ['scorecards'],
      request: { params: z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) }) },
      responses: { 200: { description: 'The report', schema: storedReportSchema }, 404: { description: 'No such report' } },
    },
    async (c, { params }) => {
      const report = await findReport(c.var.db, params.id);
      if (!report) throw notFound(`report ${params.id}`);
      return c.json(report);
    },
  );
}
