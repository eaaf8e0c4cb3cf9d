import { connect } from 'node:net';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureJobs } from '../../src/jobs/environment.js';
import { HEALTHY, makeAccount, setScore } from '../alerts/fixtures.js';
import { Contract, type Operation } from '../support/contract.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * #12: the published contract, probed the way an outside schema-driven fuzzer
 * does. For every operation of /openapi.json: requests generated from its
 * schemas (fast-check), mutations of them (unknown fields, wrong types, NUL,
 * deep nesting, other media types, broken JSON), and malformed HTTP on a raw
 * socket. Every answer: no 5xx, errors as problem+json, the status declared
 * and the body matching the declared schema; a text/csv body parses, its
 * header names fields of the operation's JSON items, and no cell would run as
 * a spreadsheet formula.
 */

const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 8);
const VALID_RUNS_PER_OPERATION = Number(process.env.FUZZ_VALID_RUNS ?? 6);
const SEED = Number(process.env.FUZZ_SEED ?? 12_012);

type Schema = Record<string, unknown>;
const FORMULAS = ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', '=HYPERLINK("http://x")', 'a,b\n=c'];
const FORMULA_START = /^[=+\-@\t\r]/;
let s: TestServer;
let contract: Contract;
let adminKeyId: number;
const failures: string[] = [];

beforeAll(async () => {
  s = await startTestServer({ allowPrivateWebhookUrls: false });
  // The deliver-webhooks job must not start sending to the generated URLs.
  configureJobs({ settings: { usageRetentionDays: 400, webhookRetentionDays: 30, outboxDelivery: 'continuous', delivery: {} } });
  contract = await Contract.fetch(s.url);
  const acme = await makeAccount(s.db, { externalId: 'acme' });
  await setScore(s.db, acme, 70, 'green', HEALTHY);
  // Text a CRM may send that a spreadsheet would run: every CSV export must neutralise it.
  for (const [i, text] of FORMULAS.entries()) {
    const id = await makeAccount(s.db, { externalId: `${text}${i}` });
    await s.db.updateTable('accounts').set({ name: text, owner: text, segment: text }).where('id', '=', id).execute();
    await setScore(s.db, id, 40 + i, 'yellow', HEALTHY);
  }
  adminKeyId = (await s.db.selectFrom('api_keys').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow()).id;
});
afterAll(() => s.close());

/** A fast-check arbitrary for the JSON values a JSON Schema (as published) allows. */
function arbitraryFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return fc.constant(null);
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').pop()!;
    return arbitraryFor(contract.document.components?.schemas?.[name] as Schema, depth + 1);
  }
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) return fc.oneof(...(schema[key] as Schema[]).map((option) => arbitraryFor(option, depth + 1)));
  }
  if (Array.isArray(schema.allOf)) {
    // The schema's own keywords win (a pattern it states beside allOf's); ajv then keeps only what meets both.
    const { allOf, ...own } = schema;
    return arbitraryFor({ ...Object.assign({}, ...(allOf as Schema[])), ...own }, depth + 1);
  }
  const type = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : undefined;
  if (type && type.length > 1) return fc.oneof(...type.map((t) => arbitraryFor({ ...schema, type: t }, depth)));
  switch (type?.[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined) ?? -1e6;
      const max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined) ?? 1e6;
      const lo = Math.max(min, -1e9);
      const hi = Math.min(max, 1e9);
      if (type[0] === 'integer' || schema.multipleOf !== undefined) {
        const step = (schema.multipleOf as number | undefined) ?? 1;
        return fc.integer({ min: Math.ceil(lo / step), max: Math.floor(hi / step) }).map((n) => Number((n * step).toFixed(6)));
      }
      return fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
    }
    case 'string':
      return stringArbitrary(schema);
    case 'array': {
      const items = arbitraryFor(schema.items as Schema | undefined, depth + 1);
      const minLength = (schema.minItems as number | undefined) ?? 0;
      return fc.array(items, { minLength, maxLength: Math.min((schema.maxItems as number | undefined) ?? 3, minLength + 3) });
    }
    case 'object':
    case undefined: {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      if (Object.keys(properties).length === 0 && type === undefined) return fc.jsonValue({ maxDepth: 2 });
      const required = (schema.required ?? []) as string[];
      return fc.record(
        Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, arbitraryFor(v, depth + 1)])),
        { requiredKeys: required.filter((k) => k in properties) },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = Math.min((schema.maxLength as number | undefined) ?? 40, minLength + 40);
  switch (schema.format) {
    case 'date':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'date-time':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'email':
      return fc.emailAddress();
    case 'uri':
      return fc.webUrl();
    case 'uuid':
      return fc.uuid();
  }
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((v) => v.length >= minLength && v.length <= ((schema.maxLength as number | undefined) ?? Infinity));
    } catch {
      // A pattern fast-check cannot generate from: plain strings (the server answers 400, also a declared outcome).
    }
  }
  return fc.string({ minLength, maxLength });
}

interface Request {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

const pathValues: Record<string, fc.Arbitrary<string>> = {
  // Running the rescore job takes most of a minute by design; the fuzzer runs a quick one or an unknown one.
  name: fc.constantFrom('prune-idempotency-keys', 'no-such-job'),
  externalId: fc.oneof(fc.constant('acme'), fc.string({ minLength: 1, maxLength: 20 })),
};

/** Whether a schema on the way from the request part to the named field states a rule (`x-rule`) beside its JSON Schema. */
function ruleOnPath(operation: Operation, field: string): boolean {
  const [part, ...path] = field.split('.');
  let schemas: Schema[] = [];
  if (part === 'params' || part === 'query') {
    const p = operation.parameters?.find((x) => x.in === (part === 'params' ? 'path' : 'query') && x.name === path[0]);
    schemas = p ? [p.schema] : [];
    path.shift();
  } else if (part === 'body') {
    const body = operation.requestBody?.content['application/json']?.schema;
    schemas = body ? [body] : [];
  }
  const resolve = (x: Schema): Schema[] => {
    const target = typeof x.$ref === 'string' ? (contract.document.components?.schemas?.[x.$ref.split('/').pop()!] as Schema) : x;
    const options = [...((target.anyOf as Schema[] | undefined) ?? []), ...((target.oneOf as Schema[] | undefined) ?? []), ...((target.allOf as Schema[] | undefined) ?? [])];
    return [target, ...options.flatMap(resolve)];
  };
  for (let depth = 0; ; depth++) {
    const here = schemas.flatMap(resolve);
    if (here.some((x) => x['x-rule'] !== undefined)) return true;
    if (depth >= path.length) return false;
    const key = path[depth]!;
    schemas = here.flatMap((x) => {
      const next = (x.properties as Record<string, Schema> | undefined)?.[key] ?? (/^\d+$/.test(key) ? (x.items as Schema | undefined) : undefined);
      return next ? [next] : [];
    });
  }
}

/** What the document's JSON Schema says is wrong with a generated request (path, query and body); empty when it conforms. */
function schemaErrors(operation: Operation, r: Request & { values?: Record<string, unknown> }): string[] {
  const errors: string[] = [];
  for (const p of operation.parameters ?? []) {
    if (p.in === 'header') continue;
    const value = p.in === 'path' ? r.values?.[p.name] : r.query[p.name];
    if (value === undefined) continue;
    // Query and path values travel as text: a number or boolean schema is checked against what the text means.
    const typed = typeof value === 'string' && /integer|number/.test(JSON.stringify(p.schema.type ?? '')) && value.trim() !== '' ? Number(value) : typeof value === 'string' && /boolean/.test(JSON.stringify(p.schema.type ?? '')) && /^(true|false)$/.test(value) ? value === 'true' : value;
    errors.push(...contract.errorsOf(p.schema, typed).map((e) => `${p.in}.${p.name}: ${e}`));
  }
  const body = operation.requestBody?.content['application/json']?.schema;
  if (body && r.body !== undefined) errors.push(...contract.errorsOf(body, r.body).map((e) => `body: ${e}`));
  return errors;
}

function requestArbitrary(path: string, method: string, operation: Operation, fromSchemaOnly = false): fc.Arbitrary<Request & { values?: Record<string, unknown> }> {
  const params = operation.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const body = operation.requestBody?.content['application/json']?.schema;
  return fc.record({
    path: fc.record(
      Object.fromEntries(
        pathParams.map((p) => [p.name, fromSchemaOnly ? arbitraryFor(p.schema).map(String) : pathValues[p.name] ?? fc.oneof(arbitraryFor(p.schema).map(String), fc.constant('1'))]),
      ),
    ),
    query: fc.record(Object.fromEntries(queryParams.map((p) => [p.name, arbitraryFor(p.schema).map(String)])), { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) }),
    body: body ? arbitraryFor(body) : fc.constant(undefined),
  }).map(({ path: values, query, body }) => ({
    method: method.toUpperCase(),
    path: path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] as string)),
    query: query as Record<string, string>,
    body,
    values,
  }));
}

/** What a client gets wrong: each applied to a generated request. */
const mutations: [string, (r: Request) => Request | undefined][] = [
  ['an unknown query parameter', (r) => ({ ...r, query: { ...r.query, not_a_parameter: '1' } })],
  ['a NUL in a query parameter', (r) => (Object.keys(r.query).length ? { ...r, query: Object.fromEntries(Object.entries(r.query).map(([k, v]) => [k, `${v}\u0000`])) } : undefined)],
  ['an unknown body field', (r) => (r.body && typeof r.body === 'object' && !Array.isArray(r.body) ? { ...r, body: { ...r.body, external_id: 'x' } } : undefined)],
  ['a body of the wrong type', (r) => (r.body !== undefined ? { ...r, body: [1, 'two', null] } : undefined)],
  ['a NUL in every string', (r) => (r.body !== undefined ? { ...r, rawBody: JSON.stringify(r.body, (_k, v: unknown) => (typeof v === 'string' ? `${v}\u0000` : v)) } : undefined)],
  ['a body nested 5,000 deep', (r) => (r.body !== undefined ? { ...r, rawBody: `{"items":${'['.repeat(5000)}${']'.repeat(5000)}}` } : undefined)],
  ['broken JSON', (r) => (r.body !== undefined ? { ...r, rawBody: '{"items": [' } : undefined)],
  ['merge-patch+json', (r) => (r.body !== undefined ? { ...r, headers: { 'content-type': 'application/merge-patch+json' } } : undefined)],
  ['no body at all', (r) => (r.body !== undefined ? { ...r, body: undefined, rawBody: '' } : undefined)],
  ['an invalid Idempotency-Key', (r) => (r.method === 'POST' ? { ...r, headers: { 'idempotency-key': '' } } : undefined)],
];

async function send(r: Request): Promise<Response> {
  const search = new URLSearchParams(r.query).toString();
  const headers: Record<string, string> = { authorization: `Bearer ${s.adminKey}`, ...(r.headers ?? {}) };
  let body: string | undefined;
  if (r.rawBody !== undefined || r.body !== undefined) {
    body = r.rawBody ?? JSON.stringify(r.body);
    headers['content-type'] ??= 'application/json';
  }
  return fetch(`${s.url}${r.path}${search ? `?${search}` : ''}`, { method: r.method, headers, body });
}

async function probe(operation: Operation, r: Request, what: string): Promise<void> {
  const res = await send(r);
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`${res.status}: ${(await res.clone().text()).slice(0, 300)}`);
  if (res.status >= 400 && !(res.headers.get('content-type') ?? '').startsWith('application/problem+json')) {
    problems.push(`error ${res.status} is not problem+json`);
  }
  problems.push(...(await contract.check(operation, res)));
  if ((res.headers.get('content-type') ?? '').startsWith('text/csv')) problems.push(...(await checkCsv(operation, res)));
  await res.body?.cancel();
  for (const p of problems) failures.push(`${r.method} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : ''} (${what}): ${p}`);
}

/** The fields of the items of an operation's JSON 200 answer: the columns a CSV form of it may have. */
function itemFields(operation: Operation): Set<string> {
  let schema = operation.responses['200']?.content?.['application/json']?.schema as Schema | undefined;
  const resolve = (x: Schema | undefined) =>
    typeof x?.$ref === 'string' ? (contract.document.components?.schemas?.[x.$ref.split('/').pop()!] as Schema) : x;
  schema = resolve(schema);
  const items = resolve(((schema?.properties as Record<string, Schema> | undefined)?.items?.items as Schema | undefined) ?? undefined);
  return new Set(Object.keys((items?.properties as Record<string, unknown> | undefined) ?? {}));
}

/** A CSV answer: parses (RFC 4180, same column count on every line), a header of item fields, no live formula in any cell. */
async function checkCsv(operation: Operation, res: Response): Promise<string[]> {
  let records: string[][];
  try {
    records = parse(await res.clone().text(), { relax_quotes: false }) as string[][];
  } catch (err) {
    return [`${operation.operationId}: the CSV does not parse: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  const [header, ...rows] = records;
  const fields = itemFields(operation);
  if (!header?.length) problems.push(`${operation.operationId}: the CSV has no header row`);
  for (const column of header ?? []) if (!fields.has(column)) problems.push(`${operation.operationId}: CSV column "${column}" is not a field of the JSON items`);
  for (const row of rows) {
    for (const cell of row) if (FORMULA_START.test(cell)) problems.push(`${operation.operationId}: CSV cell ${JSON.stringify(cell)} would run as a formula`);
  }
  return problems;
}

// Before the fuzzing, which may leave the data (and keys) in any state.
describe('CSV answers', () => {
  it('every operation that declares text/csv answers it parseable, with item fields as columns and formulas neutralised', async () => {
    const csvOperations = contract
      .operations()
      .filter(({ method, operation }) => method === 'get' && operation.responses['200']?.content?.['text/csv'] && !operation.parameters?.some((p) => p.in === 'path'));
    expect(csvOperations.map((o) => o.operation.operationId)).toContain('healthFeed');
    for (const { path, operation } of csvOperations) {
      const res = await send({ method: 'GET', path, query: { format: 'csv', limit: '100' } });
      expect(res.status, operation.operationId).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      const text = await res.clone().text();
      expect(await checkCsv(operation, res)).toEqual([]);
      const records = parse(text) as string[][];
      // The seeded formulas are all there, neutralised with a leading apostrophe.
      const names = records.slice(1).map((r) => r[records[0]!.indexOf('name')]);
      for (const text of FORMULAS) expect(names).toContain(FORMULA_START.test(text) ? `'${text}` : text);
    }
  });
});

describe('every operation of /openapi.json', () => {
  it('answers generated and mutated requests within its contract', async () => {
    const operations = contract.operations();
    expect(operations.length).toBeGreaterThan(40);
    let requests = 0;
    for (const [index, { path, method, operation }] of operations.entries()) {
      const samples = fc.sample(requestArbitrary(path, method, operation), { numRuns: RUNS_PER_OPERATION, seed: SEED + index });
      for (const r of samples) {
        // Never revoke the key the fuzzer uses.
        if (operation.operationId === 'revokeApiKey' && r.path.endsWith(`/${adminKeyId}`)) continue;
        await probe(operation, r, 'generated');
        requests += 1;
      }
      for (const [what, mutate] of mutations) {
        const mutated = mutate(samples[0]!);
        if (!mutated || (operation.operationId === 'revokeApiKey' && mutated.path.endsWith(`/${adminKeyId}`))) continue;
        await probe(operation, mutated, what);
        requests += 1;
      }
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(operations.length * RUNS_PER_OPERATION);
  });
});

/**
 * #24 item 5: a request that the published schemas allow is not refused for
 * a reason the document does not state. Requests are generated from the
 * schemas and kept only when the document's own JSON Schema (ajv) accepts
 * every part; a 400 or 422 answer must then name only fields whose rule the
 * operation states beside the schema, in `x-rules` (rules JSON Schema cannot
 * express: "must be in the future", `red must be below green`...).
 */
describe('schema-valid generated requests', () => {
  it('get no 400 or 422 that the operation\'s schema and x-rules do not predict', async () => {
    const unpredicted: string[] = [];
    let sent = 0;
    for (const [index, { path, method, operation }] of contract.operations().entries()) {
      if (operation.operationId === 'revokeApiKey') continue; // it could revoke the key the fuzzer uses
      const samples = fc.sample(requestArbitrary(path, method, operation, true), { numRuns: VALID_RUNS_PER_OPERATION * 4, seed: SEED + 7_000 + index });
      const valid = samples.filter((r) => schemaErrors(operation, r).length === 0).slice(0, VALID_RUNS_PER_OPERATION);
      for (const r of valid) {
        const res = await send(r);
        sent += 1;
        if (res.status !== 400 && res.status !== 422) {
          await res.body?.cancel();
          continue;
        }
        const problem = (await res.json()) as { code?: string; detail?: string; errors?: { field: string; message: string }[] };
        const rules = operation['x-rules'] ?? [];
        const stated = (field: string) => rules.some((rule) => rule.field !== undefined && (field === rule.field || field.startsWith(`${rule.field}.`))) || ruleOnPath(operation, field);
        const errors = problem.errors ?? [];
        // A refusal that names no field must be one of the operation's stated rules.
        const predicted = errors.length === 0 ? rules.length > 0 : errors.every((e) => stated(e.field));
        if (!predicted) {
          unpredicted.push(`${operation.operationId}: ${r.method} ${r.path}?${new URLSearchParams(r.query)} ${JSON.stringify(r.body)?.slice(0, 200)} -> ${res.status} ${problem.code} ${JSON.stringify(errors.length ? errors : problem.detail).slice(0, 300)}`);
        }
      }
    }
    expect(unpredicted).toEqual([]);
    expect(sent).toBeGreaterThan(40);
  });
});

/** Sends raw bytes and returns what came back before the server closed the connection. */
function raw(bytes: string): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('close', () => resolve(received));
    socket.on('error', (err) => (received ? resolve(received) : reject(err)));
    socket.end(bytes);
  });
}

describe('malformed HTTP on a raw socket', () => {
  it('gets a problem+json 4xx on every operation path, never a 5xx or an empty answer', async () => {
    const paths = [...new Set(contract.operations().map((o) => o.path.replace(/\{\w+\}/g, 'x')))];
    const broken = (path: string) => [
      `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0007b\r\n\r\n`,
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
      `GET ${path}/a b HTTP/1.1\r\nHost: x\r\n\r\n`,
    ];
    for (const path of paths.slice(0, 12)) {
      for (const bytes of broken(path)) {
        const answer = await raw(bytes);
        const status = Number(answer.split(' ')[1]);
        expect(status, answer).toBeGreaterThanOrEqual(400);
        expect(status, answer).toBeLessThan(500);
        expect(answer.toLowerCase()).toContain('content-type: application/problem+json');
      }
    }
  });
});
