import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { type Scope, requireScope } from '../auth/middleware.js';
import { idempotency, idempotencyHeaderSchema } from '../idempotency/middleware.js';
import type { AppEnv } from './env.js';
import { checkUrlEncoding, fieldErrors, inspectValue, readJsonBody, strictSchema } from './input.js';
import { DomainError, type FieldError, problemResponse } from './problem.js';
import { objectRules } from './openapi-rules.js';
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
  /** Defaults to application/json (application/problem+json for 4xx and 5xx). */
  contentType?: string;
  /** Other representations of the same response, by content type (`text/csv`). */
  also?: Record<string, z.ZodType>;
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
  /**
   * The body as published, when the handler checks parts of it itself (batch
   * items one by one, so a bad item never sinks the others): the document
   * then shows what each item must be, while request.body validates the rest.
   */
  documentedBody?: z.ZodType;
  responses: Record<number, ResponseSpec>;
  /**
   * Rules the handler checks that no field schema states (a time that must
   * be in the future, enough outcomes for a fit): published as `x-rules`
   * (#24), so a schema-valid request refused for one of them was predicted.
   */
  rules?: { field?: string; rule: string }[];
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

type Target = 'param' | 'query' | 'json' | 'header';
const targetNames = { param: 'params', query: 'query', json: 'body', header: 'headers' } as const;

/**
 * The validation hook: one of the two places (with onError) that build the
 * error envelope. Field paths are prefixed with where the value came from.
 */
const validationProblem = (c: Context, errors: FieldError[]) =>
  problemResponse(c, 'validation_failed', `${errors.length} field(s) failed validation`, { errors });

/** The raw value of a target, as the client sent it (query parameters sent twice become arrays). */
function rawValue(c: Context, target: Exclude<Target, 'json'>): Record<string, unknown> {
  if (target === 'param') return c.req.param() as Record<string, string>;
  if (target === 'header') return c.req.header();
  return Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
}

/**
 * Validates one target against its schema (made strict: unknown fields and
 * query parameters are refused), after the checks every string gets (no NUL).
 * Headers stay open: clients and proxies add their own.
 */
const validate = (target: Target, schema: z.ZodType | undefined): MiddlewareHandler<AppEnv> => {
  const checked = schema === undefined ? undefined : target === 'header' ? schema : strictSchema(schema);
  return async (c, next) => {
    const prefix = targetNames[target];
    const value = target === 'json' ? await readJsonBody(c, schema) : rawValue(c, target);
    // Query parameters a route does not take are refused too, not ignored.
    if (checked === undefined) {
      const unknown = Object.keys(value as object).map((k) => ({ field: `${prefix}.${k}`, message: 'unknown query parameter; this operation takes none', code: 'unknown_field' }));
      if (unknown.length > 0) return validationProblem(c, unknown);
      return next();
    }
    if (target !== 'json') {
      const nul = inspectValue(value, prefix);
      if (nul.length > 0) return validationProblem(c, nul);
    }
    const result = await checked.safeParseAsync(value);
    if (!result.success) return validationProblem(c, fieldErrors(result.error.issues, prefix, schema));
    if (target === 'param') {
      // A path value is taken as sent or refused, never quietly changed (trimmed, say) into another one.
      const changed = Object.entries(value as Record<string, unknown>)
        .filter(([k, v]) => typeof v === 'string' && v.trim() !== v && (result.data as Record<string, unknown>)[k] !== v)
        .map(([k]) => ({ field: `params.${k}`, message: 'must not start or end with whitespace or control characters', code: 'invalid_format' }));
      if (changed.length > 0) return validationProblem(c, changed);
    }
    c.req.addValidatedData(target, result.data as never);
    await next();
  };
};

/** Percent-encodings of the path and query string must decode to UTF-8. */
const checkEncoding =
  (paramNames: string[]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    checkUrlEncoding(c, paramNames);
    await next();
  };

const toHonoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
const pathPattern = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}/?$`);
const literalPattern = (path: string) => new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);

const decodeSegment = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};
const isDotSegment = (segment: string) => segment === '.' || segment === '..';

/**
 * The path as the client sent it, before URL parsing resolved `.` and `..`
 * segments away (`/v1/accounts/.` arrives as `/v1/accounts/`): on Node the
 * raw request target; elsewhere nothing (Workers see the resolved URL only).
 */
const rawPath = (c: Context<AppEnv>): string | undefined => {
  const url = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
  return typeof url === 'string' && url.startsWith('/') ? url.split('?')[0] : undefined;
};

const problemContent = { 'application/problem+json': { schema: problemSchema } };
/** The problems any operation of a kind can answer, declared so clients (and fuzzers) can rely on the list. */
const standardProblems = (shape: { scoped: boolean; params: boolean; body: boolean; idempotent: boolean }): ZodOpenApiOperationObject['responses'] => ({
  400: { description: 'Validation failed, or the request could not be read (unknown query parameters included)', content: problemContent },
  ...(shape.scoped
    ? {
        401: { description: 'Missing or invalid API key', content: problemContent },
        403: { description: 'API key lacks the scope', content: problemContent },
        429: { description: 'The API key exceeded its requests per minute (RATE_LIMIT_PER_MINUTE); retry after Retry-After', content: problemContent },
      }
    : {}),
  // A resource the path names, or one the body refers to (a scorecard id, say), may not exist.
  ...(shape.params || shape.body ? { 404: { description: 'Not found: a resource the path or the body names', content: problemContent } } : {}),
  ...(shape.idempotent
    ? {
        409: { description: 'A request with this Idempotency-Key is still in progress', content: problemContent },
        422: { description: 'This Idempotency-Key was already used for a different request', content: problemContent },
      }
    : {}),
  ...(shape.body
    ? {
        413: { description: 'The body is larger than BODY_LIMIT_BYTES', content: problemContent },
        415: { description: 'The body is not application/json', content: problemContent },
      }
    : {}),
  500: { description: 'Internal error (no details are exposed)', content: problemContent },
  503: { description: 'The database is unavailable or a concurrent request conflicted; retry after Retry-After', content: problemContent },
});

/**
 * Registers routes on the app and records each one for the OpenAPI document,
 * so the schemas that validate a request are the ones that describe it.
 */
export class Router {
  readonly paths: ZodOpenApiPathsObject = {};
  private readonly patterns: { method: Method; pattern: RegExp; literal: RegExp }[] = [];

  /** `rateLimit`: per-API-key limit, run right after authentication on every operation that needs a key. */
  constructor(
    private readonly app: Hono<AppEnv>,
    private readonly options: { rateLimit?: MiddlewareHandler<AppEnv> } = {},
  ) {}

  route<S extends RequestSchemas>(spec: RouteSpec<S>, handler: RouteHandler<S>): void {
    const request = (spec.request ?? {}) as RequestSchemas;
    const middleware: MiddlewareHandler<AppEnv>[] = [];
    const paramNames = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    if (spec.scope) middleware.push(requireScope(spec.scope));
    if (spec.scope && this.options.rateLimit) middleware.push(this.options.rateLimit);
    middleware.push(checkEncoding(paramNames));
    // The body is read and checked before Idempotency-Key hashes it.
    if (request.body) middleware.push(validate('json', request.body));
    if (honoursIdempotencyKey(spec as RouteSpec<RequestSchemas>)) middleware.push(idempotency());
    if (request.params) middleware.push(validate('param', request.params));
    else if (paramNames.length > 0) middleware.push(validate('param', z.object(Object.fromEntries(paramNames.map((n) => [n, z.string()])))));
    if (request.headers) middleware.push(validate('header', request.headers));
    middleware.push(validate('query', request.query));
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

    this.patterns.push({ method: spec.method, pattern: pathPattern(spec.path), literal: literalPattern(spec.path) });
    this.paths[spec.path] = { ...this.paths[spec.path], [spec.method]: this.operation(spec, request) };
  }

  /**
   * Middleware for the app: a request whose raw path has a `.` or `..`
   * segment (`/v1/accounts/.`) is answered for the operation it names, not
   * for the path its URL resolves to: 400 naming the path parameter that
   * holds the dot segment (no value of a path parameter can be one), 405 if
   * the operation has another method, else 404.
   */
  dotSegments(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      const raw = rawPath(c);
      const segments = raw?.split('/').map(decodeSegment);
      if (!raw || !segments!.some(isDotSegment)) return next();
      const literal = segments!.join('/');
      const matches = this.patterns.map((p) => ({ ...p, match: p.literal.exec(literal) })).filter((p) => p.match);
      const own = matches.find((p) => p.method.toUpperCase() === c.req.method);
      if (own) {
        const errors = Object.entries(own.match!.groups ?? {})
          .filter(([, v]) => isDotSegment(v))
          .map(([k]) => ({ field: `params.${k}`, message: 'must not be . or .. (a URL path resolves such a segment away)', code: 'invalid_format' }));
        if (errors.length > 0) return validationProblem(c, errors);
      } else if (matches.length > 0) {
        const allow = matches.map((p) => p.method.toUpperCase());
        throw new DomainError('method_not_allowed', `${c.req.method} is not allowed here; use ${allow.join(', ')}`, { allow });
      }
      throw new DomainError('not_found', `no route for ${c.req.method} ${raw}`);
    };
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
      ...standardProblems({ scoped: spec.scope !== null, params: /\{\w+\}/.test(spec.path), body: request.body !== undefined, idempotent }),
    };
    for (const [status, response] of Object.entries(spec.responses)) {
      const isError = Number(status) >= 400;
      const schema = response.schema ?? (isError ? problemSchema : undefined);
      const contentType = response.contentType ?? (isError ? 'application/problem+json' : 'application/json');
      (responses as Record<string, unknown>)[status] = {
        description: response.description,
        ...(schema
          ? {
              content: {
                [contentType]: { schema },
                ...Object.fromEntries(Object.entries(response.also ?? {}).map(([type, s]) => [type, { schema: s }])),
              },
            }
          : {}),
      };
    }
    const rules = [
      ...(spec.rules ?? []),
      ...(['params', 'query'] as const).flatMap((part) => objectRules(request[part]).map((rule) => ({ field: part, rule }))),
    ];
    return {
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: spec.tags,
      security: spec.scope ? [{ apiKey: [spec.scope] }] : [],
      ...(spec.scope ? { 'x-required-scope': spec.scope } : {}),
      ...(rules.length ? { 'x-rules': rules } : {}),
      requestParams: {
        ...(request.params ? { path: request.params as never } : {}),
        ...(request.query ? { query: request.query as never } : {}),
        ...(headerSchema ? { header: headerSchema as never } : {}),
      },
      ...(request.body || spec.documentedBody
        ? { requestBody: { required: true, content: { 'application/json': { schema: spec.documentedBody ?? request.body! } } } }
        : {}),
      responses,
    };
  }
}
