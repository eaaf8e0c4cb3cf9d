import { z } from 'zod';
import { toCsv } from '../http/csv.js';
import { encodeCursor, feedCursorSchema } from '../http/cursor.js';
import type { Router } from '../http/route.js';
import { type AuditEntry, listAudit } from './repository.js';

export const auditQuerySchema = z.object({
  actorType: z.enum(['person', 'key', 'system']).optional(),
  actorId: z.string().min(1).max(200).optional(),
  action: z.string().min(1).max(100).optional().meta({ description: 'An action (`scorecard.activated`), or a prefix ending in `.` (`scorecard.`)' }),
  targetType: z.string().min(1).max(100).optional(),
  targetId: z.string().min(1).max(500).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cursor: feedCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv']).default('json'),
});

const entrySchema = z
  .object({
    id: z.number(),
    at: z.iso.datetime(),
    actorType: z.enum(['person', 'key', 'system']),
    actorId: z.string().nullable(),
    actorName: z.string().nullable().meta({ description: "The key's name, or the person's email as it is now (null once the person was erased)" }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string().nullable(),
    before: z.unknown().nullable(),
    after: z.unknown().nullable(),
  })
  .meta({ id: 'AuditEntry' });

export const CSV_COLUMNS = ['id', 'at', 'actorType', 'actorId', 'actorName', 'ip', 'userAgent', 'requestId', 'action', 'targetType', 'targetId', 'before', 'after'] as const;

export const auditToJson = (e: AuditEntry) => ({ ...e, at: e.at.toISOString() });

export function registerAuditRoutes(router: Router) {
  router.route(
    {
      method: 'get',
      path: '/v1/audit',
      scope: 'admin',
      operationId: 'auditFeed',
      summary: 'The audit trail: who changed what, when, from where',
      description:
        'Oldest first. Keep `nextCursor` and call again for what was recorded since. Entries are append-only: no route edits or deletes one; the retention job (AUDIT_RETENTION_DAYS) prunes old ones. `format=csv`: the same page as CSV, the next cursor in `x-next-cursor`.',
      tags: ['admin'],
      request: { query: auditQuerySchema },
      responses: { 200: { description: 'A page of entries', schema: z.object({ items: z.array(entrySchema), nextCursor: z.string().nullable() }), also: { 'text/csv': z.string() } } },
    },
    async (c, { query }) => {
      const page = await listAudit(c.var.db, {
        actorType: query.actorType,
        actorId: query.actorId,
        action: query.action,
        targetType: query.targetType,
        targetId: query.targetId,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        afterId: query.cursor?.id,
        limit: query.limit,
      });
      const nextCursor = page.nextAfterId ? encodeCursor({ seq: 0, id: page.nextAfterId }) : null;
      if (query.format === 'csv') {
        return c.body(toCsv(page.items.map(auditToJson), CSV_COLUMNS), 200, { 'content-type': 'text/csv; charset=utf-8', 'x-next-cursor': nextCursor ?? '' });
      }
      return c.json({ items: page.items.map(auditToJson), nextCursor });
    },
  );
}
