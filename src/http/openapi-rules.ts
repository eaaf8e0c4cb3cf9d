/**
 * The rules a request schema enforces beyond what zod turns into JSON Schema
 * by itself, written into the published document (#24): the edge's own rules
 * (no NUL, see src/http/input.ts), trimming, and every refinement. What JSON
 * Schema can say is said as schema (`pattern`, `allOf`); the rest goes in
 * `x-rule`, the refinement's message, so a generated client knows it.
 */

type JsonSchema = Record<string, unknown>;
interface CheckDef {
  check: string;
  tx?: unknown;
  error?: (issue: object) => unknown;
  fn?: unknown;
}
interface ZodDef {
  type: string;
  checks?: { _zod: { def: CheckDef } }[];
}

const NO_NUL = '^[^\\u0000]*$';
/** After trimming, at least one character is left. */
const NOT_BLANK = '\\S';

const messageOf = (check: CheckDef): string | undefined => {
  try {
    const out = check.error?.({});
    if (typeof out === 'string') return out;
    if (out && typeof out === 'object' && typeof (out as { message?: unknown }).message === 'string') return (out as { message: string }).message;
  } catch {
    // A message built from the issue: said generically below.
  }
  return undefined;
};

/**
 * The comma-separated lists of allowed values that query parameters take
 * (`status=open,snoozed`): values separated by commas, blanks around them and
 * empty entries ignored, at least one value.
 */
export const csvPattern = (values: readonly string[]) => {
  const v = `(?:${values.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
  return `^(?:\\s*,)*\\s*${v}\\s*(?:,\\s*(?:${v}\\s*)?)*$`;
};

const addPattern = (json: JsonSchema, pattern: string) => {
  const all = (json.allOf as JsonSchema[] | undefined) ?? [];
  if (json.pattern === pattern || all.some((x) => x.pattern === pattern)) return;
  // A pattern of the schema's own that already excludes NUL says enough.
  if (pattern === NO_NUL && typeof json.pattern === 'string' && json.pattern.includes('\\u0000')) return;
  if (json.pattern === undefined) json.pattern = pattern;
  else json.allOf = [...((json.allOf as JsonSchema[] | undefined) ?? []), { pattern }];
};

const addRule = (json: JsonSchema, rule: string) => {
  const existing = json['x-rule'];
  json['x-rule'] = typeof existing === 'string' && existing !== rule ? `${existing}; ${rule}` : rule;
};

/** zod-openapi's `override` for request (input) schemas. */
export function expressRequestRules(zodSchema: unknown, json: JsonSchema): void {
  const def = (zodSchema as { _zod?: { def?: ZodDef } })._zod?.def;
  if (!def) return;
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  if (def.type === 'string' && json.type === 'string' && json.enum === undefined && json.const === undefined && json.format !== 'date' && json.format !== 'date-time') {
    addPattern(json, NO_NUL);
    const trims = checks.some((c) => c.check === 'overwrite' && /\.trim\(\)/.test(String(c.tx)));
    if (trims && typeof json.minLength === 'number' && json.minLength > 0) addPattern(json, NOT_BLANK);
  }
  for (const check of checks) {
    if (check.check !== 'custom') continue;
    addRule(json, messageOf(check) ?? 'checked beside the schema; a 400 names the field');
  }
}

/**
 * The refinements of a whole object schema (`from` not after `to`): for query
 * and path parameters, which the document lists one by one, so the rule can
 * only be stated on the operation (`x-rules`).
 */
export function objectRules(zodSchema: unknown): string[] {
  const def = (zodSchema as { _zod?: { def?: ZodDef & { in?: unknown; innerType?: unknown } } } | undefined)?._zod?.def;
  if (!def) return [];
  const own = (def.checks ?? []).map((c) => c._zod.def).filter((c) => c.check === 'custom').map((c) => messageOf(c) ?? 'checked beside the schema; a 400 names the field');
  const inner = def.type === 'pipe' ? def.in : def.innerType;
  return inner ? [...own, ...objectRules(inner)] : own;
}
