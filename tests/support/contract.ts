import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';

const addFormats = formats as unknown as (ajv: Ajv2020) => void;
import { expect } from 'vitest';

/**
 * The published contract (/openapi.json) as a checker: every response a test
 * sees must have a declared status and, for its content type, match the
 * declared schema (JSON Schema 2020-12, as OpenAPI 3.1 publishes it).
 */
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  webhooks?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}
export interface Operation {
  operationId: string;
  parameters?: { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
  'x-required-scope'?: string;
  /** Rules beside the schema (#24): the request fields they concern, and the rule in words. */
  'x-rules'?: { field: string; rule: string }[];
}

export class Contract {
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ReturnType<Ajv2020['compile']>>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    // OpenAPI keywords ajv does not know.
    for (const keyword of ['example', 'x-required-scope', 'x-rules', 'x-rule']) this.ajv.addKeyword(keyword);
    this.ajv.addSchema({ $id: 'openapi', components: document.components ?? {} });
  }

  static async fetch(baseUrl: string): Promise<Contract> {
    return new Contract((await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument);
  }

  operations(): { path: string; method: string; operation: Operation }[] {
    return Object.entries(this.document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
  }

  private validator(schema: Record<string, unknown>) {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      // References point into the document's components.
      const rewritten = JSON.parse(key.replaceAll('"#/components/', '"openapi#/components/')) as Record<string, unknown>;
      validate = this.ajv.compile(rewritten);
      this.validators.set(key, validate);
    }
    return validate;
  }

  /** Problems with a response: an undeclared status, an undeclared content type, a body not matching. Empty when it conforms. */
  async check(operation: Operation, res: Response): Promise<string[]> {
    const declared = operation.responses[String(res.status)];
    const body = await res.clone().text();
    if (!declared) return [`status ${res.status} is not declared for ${operation.operationId}: ${body.slice(0, 300)}`];
    if (!declared.content) return [];
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = declared.content[type];
    if (!media) return [`content type ${type} is not declared for ${operation.operationId} ${res.status}`];
    if (!type.endsWith('json')) return [];
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${operation.operationId} ${res.status}: the body is not JSON`];
    }
    const validate = this.validator(media.schema);
    if (validate(value)) return [];
    return [`${operation.operationId} ${res.status} does not match its schema: ${this.ajv.errorsText(validate.errors)}; body ${body.slice(0, 300)}`];
  }

  /** Errors of a value against a schema of the document (`#/components/…` references resolved); empty when it matches. */
  errorsOf(schema: Record<string, unknown>, value: unknown): string[] {
    const validate = this.validator(schema);
    return validate(value) ? [] : [this.ajv.errorsText(validate.errors)];
  }

  async expectConforms(operation: Operation, res: Response): Promise<void> {
    expect(await this.check(operation, res)).toEqual([]);
  }
}
