import { z } from 'zod';

export const fieldErrorSchema = z.object({
  field: z.string().meta({ example: 'body.seats' }),
  message: z.string(),
  code: z.string().optional(),
});

// Loose: a problem may carry extensions (`allow`, `pending`, `retryAfterSeconds`…), as RFC 9457 allows.
export const problemSchema = z
  .looseObject({
    type: z.string().meta({ example: '/problems/validation-failed' }),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ example: 'validation_failed' }),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string(),
    errors: z.array(fieldErrorSchema).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export const limitSchema = z.coerce.number().int().min(1).max(1000).default(100);
