import { zValidator } from '@hono/zod-validator';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { type Scope, requireScope } from '../auth/middleware.js';
import { idempotency, idempotencyHeaderSchema } from '../idempotency/middleware.js';
import type { AppEnv } from './env.js';
import { DomainError, type FieldError, problemResponse } from './problem.js';
import { problemSchema } from './schemas.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface RequestSchemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  headers?: z.ZodType;
}

type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteInput<S extends RequestSchemas> {
  params: Parsed<S['params']>;
  query: Parsed<S['query']>;
  body: Parsed<S['body']>;
  headers: Parsed<S['headers']>;
}

interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

export interface RouteSpec<S extends RequestSchemas> {
  method: Method;
  /** OpenAPI style: `/v1/accounts/{externalId}`. */
  path: string;
  /** The scope a key needs; `null` only for the public probes and docs. */
  scope: Scope | null;
  summary: string;
  description?: string;
  tags: string[];
  operationId: string;
  request?: S;
  responses: Record<number, ResponseSpec>;
  /** Extra middleware run after auth and validation, before the handler. */
  use?: MiddlewareHandler<AppEnv>[];
  /**
   * POST routes honour Idempotency-Key unless this is false. Turn it off where
   * the response carries a secret: a stored response would keep it in the
   * database for a day.
   */
  idempotent?: boolean;
}

const honoursIdempotencyKey = (spec: RouteSpec<RequestSchemas>) =>
  spec.method === 'post' && spec.scope !== null && spec.idempotent !== false;

export type RouteHandler<S extends RequestSchemas> = (
  c: Context<AppEnv>,
  input: RouteInput<S>,
) => Response | Promise<Response>;

const targetNames = { param: 'params', query: 'query', json: 'body', header: 'headers' } as const;

/**
 * The validation hook: one of the two places (with onError) that build the
 * error envelope. Field paths are prefixed with where the value came from.
 */
const validationHook = (
  result: { success: boolean; error?: z.ZodError; target: keyof typeof targetNames },
  c: Context,
) => {
  if (result.success || !result.error) return;
  const prefix = targetNames[result.target];
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
    code: issue.code,
  }));
  return problemResponse(c, 'validation_failed', `${errors.length} field(s) failed validation`, { errors });
};

const requireJsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!/^application\/([\w.-]+\+)?json$/.test(type)) {
    throw new DomainError('unsupported_media_type', 'send the body as application/json');
  }
  await next();
};

const toHonoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
const pathPattern = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}/?$`);

const problemContent = { 'application/problem+json': { schema: problemSchema } };
const standardProblems = (scoped: boolean, hasInput: boolean): ZodOpenApiOperationObject['responses'] => ({
  ...(hasInput ? { 400: { description: 'Validation failed', content: problemContent } } : {}),
  ...(scoped
    ? {
        401: { description: 'Missing or invalid API key', content: problemContent },
        403: { description: 'API key lacks the scope', content: problemContent },
      }
    : {}),
  500: { description: 'Internal error (no details are exposed)', content: problemContent },
});

/**
 * Registers routes on the app and records each one for the OpenAPI document,
 * so the schemas that validate a request are the ones that describe it.
 */
export class Router {
  readonly paths: ZodOpenApiPathsObject = {};
  private readonly patterns: { method: Method; pattern: RegExp }[] = [];

  constructor(private readonly app: Hono<AppEnv>) {}

  route<S extends RequestSchemas>(spec: RouteSpec<S>, handler: RouteHandler<S>): void {
    const request = (spec.request ?? {}) as RequestSchemas;
    const middleware: MiddlewareHandler<AppEnv>[] = [];
    if (spec.scope) middleware.push(requireScope(spec.scope));
    if (honoursIdempotencyKey(spec as RouteSpec<RequestSchemas>)) middleware.push(idempotency());
    if (request.params) middleware.push(zValidator('param', request.params as never, validationHook as never));
    if (request.headers) middleware.push(zValidator('header', request.headers as never, validationHook as never));
    if (request.query) middleware.push(zValidator('query', request.query as never, validationHook as never));
    if (request.body) {
      middleware.push(requireJsonBody);
      middleware.push(zValidator('json', request.body as never, validationHook as never));
    }
    middleware.push(...(spec.use ?? []));

    this.app.on(spec.method.toUpperCase(), [toHonoPath(spec.path)], ...middleware, (c) => {
      const valid = c.req.valid.bind(c.req) as (target: string) => unknown;
      return handler(c, {
        params: request.params ? valid('param') : undefined,
        query: request.query ? valid('query') : undefined,
        body: request.body ? valid('json') : undefined,
        headers: request.headers ? valid('header') : undefined,
      } as RouteInput<S>);
    });

    this.patterns.push({ method: spec.method, pattern: pathPattern(spec.path) });
    this.paths[spec.path] = { ...this.paths[spec.path], [spec.method]: this.operation(spec, request) };
  }

  /** Methods registered for a path, for 405 and its Allow header. */
  allowedMethods(path: string): string[] {
    return this.patterns.filter((p) => p.pattern.test(path)).map((p) => p.method.toUpperCase());
  }

  private operation(spec: RouteSpec<RequestSchemas>, request: RequestSchemas): ZodOpenApiOperationObject {
    const idempotent = honoursIdempotencyKey(spec);
    const headerSchema =
      idempotent && request.headers
        ? (request.headers as z.ZodObject).extend(idempotencyHeaderSchema.shape)
        : idempotent
          ? idempotencyHeaderSchema
          : request.headers;
    const responses: ZodOpenApiOperationObject['responses'] = {
      ...standardProblems(spec.scope !== null, Object.keys(request).length > 0),
    };
    for (const [status, response] of Object.entries(spec.responses)) {
      (responses as Record<string, unknown>)[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema } } }
          : {}),
      };
    }
    return {
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: spec.tags,
      security: spec.scope ? [{ apiKey: [spec.scope] }] : [],
      ...(spec.scope ? { 'x-required-scope': spec.scope } : {}),
      requestParams: {
        ...(request.params ? { path: request.params as never } : {}),
        ...(request.query ? { query: request.query as never } : {}),
        ...(headerSchema ? { header: headerSchema as never } : {}),
      },
      ...(request.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: request.body } } } }
        : {}),
      responses,
    };
  }
}
