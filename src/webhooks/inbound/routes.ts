import { z } from 'zod';
import { parseJsonText } from '../../http/input.js';
import { sqlState } from '../../db/errors.js';
import { inTransaction } from '../../db/transaction.js';
import type { FieldError } from '../../http/problem.js';
import { DomainError } from '../../lib/errors.js';
import type { Router } from '../../http/route.js';
import { problemSchema } from '../../http/schemas.js';
import { ingestBatch, SIGNALS } from '../../signals/ingest.js';
import { MAX_SIGNAL_BATCH } from '../../signals/schemas.js';
import { registerWebhookSourceRoutes } from './admin-routes.js';
import { deliveryResponseSchema, EVENT_TYPES, envelopeSchema } from './envelope.js';
import { claimWebhookMessage, liveSecrets, SOURCE_NAME_PATTERN } from './repository.js';
import { FAILURE_DETAIL, verifyDelivery } from './verify.js';

export const INBOUND_WEBHOOK_PATH = '/v1/webhooks/inbound/{source}';
const MAX_WEBHOOK_ID_LENGTH = 255;

// Documented, not enforced by the validator: a missing header must be a 401, not a 400.
const signatureHeadersSchema = z.object({
  'webhook-id': z.string().optional().meta({ description: 'Required. The message id; the same on every retry, so redeliveries are applied once' }),
  'webhook-timestamp': z.string().optional().meta({ description: 'Required. Unix seconds; more than 5 minutes off the server clock (either way) is refused' }),
  'webhook-signature': z
    .string()
    .optional()
    .meta({ description: 'Required. `v1,<base64 HMAC-SHA256>`; several space-separated signatures are accepted (key rotation)' }),
});

const sourceParams = z.object({
  // Any string: a malformed name is an unknown source, answered 401 like a bad signature.
  source: z.string().meta({ description: 'The webhook source name (see /v1/admin/webhook-sources)', example: 'helpdesk' }),
});

/** The envelope as published: `data` holds items of the kind `type` names (checked one by one, as in /v1/<kind>/batch). */
const documentedEnvelopeSchema = z
  .looseObject({
    type: envelopeSchema.shape.type,
    data: z
      .array(z.union(Object.values(SIGNALS).map((kind) => kind.schema) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]))
      .min(1)
      .max(MAX_SIGNAL_BATCH)
      .meta({ description: `Up to ${MAX_SIGNAL_BATCH} items, each exactly an item of the matching /v1/<kind>/batch request` }),
    createMissingAccounts: envelopeSchema.shape.createMissingAccounts,
  })
  .meta({ description: 'Standard Webhooks envelope; other top-level fields (`timestamp`) are ignored' });

const validationFailed = (detail: string, errors: FieldError[]) => new DomainError('validation_failed', detail, { errors });

/** Inbound webhooks and the admin routes for their sources. */
export function registerInboundWebhookRoutes(router: Router) {
  router.route(
    {
      method: 'post',
      path: INBOUND_WEBHOOK_PATH,
      scope: null,
      operationId: 'receiveInboundWebhook',
      summary: 'Receive signal events pushed by a sender (Standard Webhooks)',
      description:
        'Authenticated by its Standard Webhooks signature, not by an API key: the signature over `webhook-id.webhook-timestamp.body` ' +
        "must match one of the source's live secrets, and the timestamp must be within 5 minutes of the server clock. " +
        'Anything else (unknown source, missing headers, bad timestamp or signature) is a 401. ' +
        `The body is an envelope \`{type, data, createMissingAccounts?}\` with up to ${MAX_SIGNAL_BATCH} items of the matching /v1/<kind>/batch request; ` +
        'the answer carries the same per-item results. A webhook-id already processed for the source answers `{duplicate: true}` and applies nothing.',
      tags: ['webhooks'],
      request: { params: sourceParams, headers: signatureHeadersSchema },
      // Published only: the body is read by the handler, after the signature over its raw text is checked.
      documentedBody: documentedEnvelopeSchema,
      responses: {
        200: { description: 'Applied (per-item results), or a duplicate delivery', schema: deliveryResponseSchema },
        401: {
          description: 'Unknown source, missing headers, timestamp outside the tolerance, or no matching signature',
          schema: problemSchema,
          contentType: 'application/problem+json',
        },
      },
    },
    async (c, { params }) => {
      const source = params.source;
      // The raw text, byte for byte what was signed: verify before parsing anything.
      const payload = await c.req.text();
      const secrets = SOURCE_NAME_PATTERN.test(source) ? await liveSecrets(c.var.db, source) : [];
      const verified = verifyDelivery(secrets, payload, {
        'webhook-id': c.req.header('webhook-id'),
        'webhook-timestamp': c.req.header('webhook-timestamp'),
        'webhook-signature': c.req.header('webhook-signature'),
      });
      if (!verified.ok) {
        c.var.logger.warn('inbound webhook rejected', { requestId: c.var.requestId, source: source.slice(0, 100), reason: verified.reason });
        throw new DomainError('unauthorized', FAILURE_DETAIL[verified.reason]);
      }
      const webhookId = verified.webhookId;
      if (webhookId.length > MAX_WEBHOOK_ID_LENGTH) {
        throw validationFailed('webhook-id is too long', [
          { field: 'headers.webhook-id', message: `must be at most ${MAX_WEBHOOK_ID_LENGTH} characters`, code: 'too_big' },
        ]);
      }

      // Valid JSON, sane nesting and no NUL in any string, as for every other body.
      const json = parseJsonText(payload, 'body', envelopeSchema);
      const parsed = envelopeSchema.safeParse(json);
      if (!parsed.success) {
        const errors = parsed.error.issues.map((issue) => ({
          field: ['body', ...issue.path.map(String)].join('.'),
          message: issue.message,
          code: issue.code,
        }));
        throw validationFailed(`${errors.length} field(s) failed validation`, errors);
      }
      const envelope = parsed.data;
      const { kind, idField } = EVENT_TYPES[envelope.type];

      let outcome: Awaited<ReturnType<typeof ingestBatch>> | undefined;
      try {
        // The webhook-id is recorded in the transaction that applies the events:
        // both commit, or neither does and a retry applies them.
        outcome = await inTransaction(c.var.db, async (trx) => {
          if (!(await claimWebhookMessage(trx, source, webhookId))) return undefined;
          return ingestBatch(trx, SIGNALS[kind] as (typeof SIGNALS)['usage'], envelope.data, {
            createMissingAccounts: envelope.createMissingAccounts,
            idField,
          });
        });
      } catch (err) {
        // The source was deleted between verification and the write.
        if (sqlState(err) === '23503') throw new DomainError('unauthorized', FAILURE_DETAIL.no_matching_signature);
        throw err;
      }
      if (!outcome) {
        c.var.logger.info('inbound webhook duplicate', { requestId: c.var.requestId, source, webhookId });
        return c.json({ webhookId, duplicate: true as const });
      }
      c.var.logger.info('inbound webhook applied', { requestId: c.var.requestId, source, webhookId, type: envelope.type, summary: outcome.summary });
      return c.json({ webhookId, duplicate: false as const, type: envelope.type, ...outcome });
    },
  );

  registerWebhookSourceRoutes(router);
}
