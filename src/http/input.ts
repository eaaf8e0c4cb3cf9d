import type { Context } from 'hono';
import { z } from 'zod';
import { DomainError, type FieldError } from './problem.js';

/**
 * The edge of the API: what every request value goes through before a
 * handler sees it. One place refuses what PostgreSQL or ordinary JSON clients
 * cannot take (NUL characters, invalid UTF-8, absurd nesting) and what would
 * otherwise be silently ignored (unknown fields and query parameters).
 */

/** Deepest nesting a JSON body may have, counting the body itself as level 1. */
export const MAX_JSON_DEPTH = 32;

/** Media types a JSON body may be sent as. JSON Merge Patch and JSON Patch mean something else, so they get 415. */
const JSON_MEDIA_TYPE = 'application/json';
const SCIM_MEDIA_TYPE = 'application/scim+json';

const join = (prefix: string, path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter((p) => p !== '').join('.');

/**
 * Checks a decoded value: every string and key free of NUL, nesting at most
 * MAX_JSON_DEPTH. Iterative, so a 10,000-deep body cannot overflow the stack.
 * With the schema the value is for, the items of a batch array (an array of
 * `unknown`, validated one by one later with checkValue) are only checked for
 * depth here, so a NUL in one item is that item's error and the others go on.
 */
export function inspectValue(value: unknown, prefix: string, schema?: z.ZodType, maxDepth = MAX_JSON_DEPTH): FieldError[] {
  const errors: FieldError[] = [];
  type Entry = { value: unknown; path: string; depth: number; schema: unknown; perItem: boolean };
  const stack: Entry[] = [{ value, path: prefix, depth: 1, schema, perItem: false }];
  while (stack.length > 0 && errors.length < 20) {
    const { value: v, path, depth, schema: at, perItem } = stack.pop()!;
    if (typeof v === 'string') {
      if (!perItem && v.includes('\u0000')) errors.push({ field: path, message: 'must not contain NUL characters', code: 'nul_character' });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) {
      errors.push({ field: path, message: `nests deeper than ${maxDepth} levels`, code: 'too_deep' });
      continue;
    }
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((item, i) => [String(i), item]) : Object.entries(v);
    const itemsPerItem = perItem || (Array.isArray(v) && at !== undefined && isArrayOfUnknown(at));
    for (const [key, item] of entries) {
      const itemPath = path === '' ? key : `${path}.${key}`;
      if (!itemsPerItem && key.includes('\u0000')) {
        errors.push({ field: itemPath.replaceAll('\u0000', '\\u0000'), message: 'field names must not contain NUL characters', code: 'nul_character' });
        continue;
      }
      stack.push({ value: item, path: itemPath, depth: depth + 1, schema: at === undefined ? undefined : childSchema(at, key), perItem: itemsPerItem });
    }
  }
  return errors.sort((a, b) => a.field.localeCompare(b.field));
}

const validationFailed = (errors: FieldError[]) =>
  new DomainError('validation_failed', `${errors.length} field(s) failed validation`, { errors });

/** JSON text → value, refusing what inspectValue refuses; a 400 naming the field otherwise. */
export function parseJsonText(text: string, prefix = 'body', schema?: z.ZodType): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 gives up on extreme nesting with a RangeError; that is the client's doing too.
    const reason = err instanceof RangeError ? `nests deeper than ${MAX_JSON_DEPTH} levels` : 'is not valid JSON';
    throw new DomainError('malformed_request', `the body ${reason}`, {
      errors: [{ field: prefix, message: reason, code: 'invalid_json' }],
    });
  }
  const errors = inspectValue(value, prefix, schema);
  if (errors.length > 0) throw validationFailed(errors);
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Reads a JSON request body: application/json only, valid UTF-8, valid JSON, sane nesting, no NUL. */
export async function readJsonBody(c: Context, schema?: z.ZodType): Promise<unknown> {
  const sent = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  // SCIM clients (identity providers) send their own JSON media type (RFC 7644 §3.1).
  if (sent !== JSON_MEDIA_TYPE && !(sent === SCIM_MEDIA_TYPE && c.req.path.startsWith('/scim/'))) {
    const what = sent === '' ? 'no Content-Type' : sent;
    const hint = sent.endsWith('merge-patch+json') || sent.endsWith('json-patch+json') ? '; PATCH takes the changed fields as application/json' : '';
    throw new DomainError('unsupported_media_type', `send the body as application/json (got ${what})${hint}`);
  }
  // Read the bytes first: later readers (Idempotency-Key hashing) reuse them.
  const bytes = await c.req.arrayBuffer();
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new DomainError('malformed_request', 'the body is not valid UTF-8', {
      errors: [{ field: 'body', message: 'is not valid UTF-8', code: 'invalid_utf8' }],
    });
  }
  return parseJsonText(text, 'body', schema);
}

/**
 * Raw query string and path: refuse percent-encodings that do not decode to
 * UTF-8 (the router would otherwise pass them on undecoded).
 */
export function checkUrlEncoding(c: Context, paramNames: string[]): void {
  const url = c.req.url;
  const q = url.indexOf('?');
  const path = url.slice(url.indexOf('/', url.indexOf('//') + 2), q === -1 ? undefined : q);
  const errors: FieldError[] = [];
  const decodes = (s: string) => {
    try {
      decodeURIComponent(s.replaceAll('+', ' '));
      return true;
    } catch {
      return false;
    }
  };
  if (!decodes(path)) {
    errors.push({ field: paramNames.length === 1 ? `params.${paramNames[0]}` : 'params', message: 'is not valid percent-encoded UTF-8', code: 'invalid_utf8' });
  }
  if (q !== -1) {
    for (const pair of url.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      if (!decodes(key) || !decodes(value)) {
        errors.push({ field: `query.${decodes(key) ? decodeURIComponent(key.replaceAll('+', ' ')) : key}`, message: 'is not valid percent-encoded UTF-8', code: 'invalid_utf8' });
      }
    }
  }
  if (errors.length > 0) throw validationFailed(errors);
}

const normalise = (key: string) => key.toLowerCase().replace(/[_\-\s]/g, '');

/** `external_id` → "did you mean externalId?" when the object knows a twin. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const twin = known.find((k) => normalise(k) === normalise(key));
  if (twin) return `${key} is not a field here; did you mean ${twin}?`;
  return `${key} is not a field here${known.length > 0 ? `; the fields are ${known.join(', ')}` : ''}`;
}

const strictCache = new WeakMap<z.ZodType, z.ZodType>();

/**
 * The same schema, but every plain object in it refuses unknown keys (objects
 * that say what to do with them, loose or strict, are left as they are).
 * Used for validation only; the published document keeps the original.
 */
export function strictSchema<T extends z.ZodType>(schema: T): T {
  const cached = strictCache.get(schema);
  if (cached) return cached as T;
  const result = toStrict(schema) as T;
  strictCache.set(schema, result);
  return result;
}

function toStrict(schema: z.ZodType): z.ZodType {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  const clone = (changes: Record<string, unknown>) => (schema as unknown as { clone(def: object): z.ZodType }).clone({ ...def, ...changes });
  const s = (inner: unknown) => strictSchema(inner as z.ZodType);
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      const strictShape = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, s(v)]));
      if (def.catchall !== undefined) return clone({ shape: strictShape });
      return clone({ shape: strictShape, catchall: z.never() });
    }
    case 'array':
      return clone({ element: s(def.element) });
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return clone({ innerType: s(def.innerType) });
    case 'pipe':
      return clone({ in: s(def.in) });
    case 'union':
      return clone({ options: (def.options as z.ZodType[]).map(s) });
    case 'record':
      return clone({ valueType: s(def.valueType) });
    case 'tuple':
      return clone({ items: (def.items as z.ZodType[]).map(s), rest: def.rest ? s(def.rest) : def.rest });
    case 'lazy': {
      const getter = def.getter as () => z.ZodType;
      return clone({ getter: () => s(getter()) });
    }
    default:
      // Intersections stay as they are: each side would refuse the other's keys.
      return schema;
  }
}

type Def = Record<string, unknown> & { type: string };
const defOf = (schema: unknown) => (schema as { _zod: { def: Def } })._zod.def;

/** Past wrappers (optional, default, pipe…) to the schema that shapes the value. */
function unwrap(schema: unknown): Def & { type: string } {
  let def = defOf(schema);
  for (let i = 0; i < 20; i++) {
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch'].includes(def.type)) def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(def.in);
    else if (def.type === 'lazy') def = defOf((def.getter as () => unknown)());
    else break;
  }
  return def;
}

const isArrayOfUnknown = (schema: unknown) => {
  const def = unwrap(schema);
  return def.type === 'array' && ['unknown', 'any'].includes(unwrap(def.element).type);
};

/** The schema of one key or index of a value, when it can be told. */
function childSchema(schema: unknown, key: string): unknown {
  const def = unwrap(schema);
  if (def.type === 'object') return (def.shape as Record<string, unknown>)[key] ?? def.catchall;
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

/** The field names an object schema knows at a path of a value (for "did you mean"). */
function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, unknown>;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? knownKeysAt(next, path.slice(1)) : [];
    }
    case 'array':
      return path.length === 0 ? [] : knownKeysAt(def.element, path.slice(1));
    case 'record':
      return path.length === 0 ? [] : knownKeysAt(def.valueType, path.slice(1));
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return knownKeysAt(def.innerType, path);
    case 'pipe':
      return knownKeysAt(def.in, path);
    case 'lazy':
      return knownKeysAt((def.getter as () => unknown)(), path);
    case 'union':
      return [...new Set((def.options as unknown[]).flatMap((o) => knownKeysAt(o, path)))];
    default:
      return [];
  }
}

/**
 * Zod issues as field errors. An unrecognized_keys issue becomes one error per
 * unknown key, named by its full path, with a hint for a near twin.
 */
export function fieldErrors(issues: readonly z.core.$ZodIssue[], prefix: string, schema?: z.ZodType): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = schema ? knownKeysAt(schema, issue.path) : [];
      for (const key of issue.keys) {
        errors.push({ field: join(prefix, [...issue.path, key]), message: unknownFieldMessage(key, known), code: 'unknown_field' });
      }
      continue;
    }
    if (issue.code === 'invalid_union') {
      // Report the branch that got furthest rather than "invalid input".
      const best = issue.errors.reduce<readonly z.core.$ZodIssue[] | undefined>(
        (a, b) => (a === undefined || b.length < a.length ? b : a),
        undefined,
      );
      if (best && best.length > 0 && !issue.errors.every((e) => e.length === 1 && e[0]!.code === 'invalid_type')) {
        errors.push(...fieldErrors(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })), prefix, schema));
        continue;
      }
    }
    errors.push({ field: join(prefix, issue.path), message: issue.message, code: issue.code });
  }
  return errors;
}

/** Validates one value (a batch item, say) against a schema, refusing unknown keys. */
export function checkValue<T extends z.ZodType>(
  schema: T,
  value: unknown,
  prefix = '',
): { success: true; data: z.output<T> } | { success: false; errors: FieldError[] } {
  const nested = inspectValue(value, prefix, schema);
  if (nested.length > 0) return { success: false, errors: nested };
  const parsed = strictSchema(schema).safeParse(value);
  if (parsed.success) return { success: true, data: parsed.data as z.output<T> };
  return { success: false, errors: fieldErrors(parsed.error.issues, prefix, schema) };
}
