import { createReadStream } from 'node:fs';
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import { CsvError, type Options as ParseOptions, parse } from 'csv-parse';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { type BatchResult, ingestBatch, type SignalName, SIGNALS } from './ingest.js';
import {
  type Contract,
  contractSchema,
  type ItemOutcome,
  MAX_SIGNAL_BATCH,
  type SurveyResponse,
  surveyResponseSchema,
  type Ticket,
  ticketSchema,
  type UsageEvent,
  usageEventSchema,
} from './schemas.js';
import { type OutcomeItem, outcomeItemSchema } from '../outcomes/schemas.js';

/**
 * CSV backfill through the shared intake pipeline: the file is streamed
 * (never read whole), each row is converted from text to the item shape and
 * handed to `ingestBatch` in batches, so validation, outcomes and rescoring
 * marks are exactly those of the HTTP API. Bad rows, including malformed CSV
 * lines, go to an error report next to the input; the import carries on.
 */

export type ColumnType = 'string' | 'number' | 'boolean';

/** Every field of every item, with how its text is converted. Keyed by the item types, so a new field fails type-checking here. */
const COLUMN_TYPES = {
  usage: { eventId: 'string', account: 'string', occurredAt: 'string', metric: 'string', quantity: 'number', userId: 'string' },
  tickets: {
    ticketId: 'string',
    account: 'string',
    subject: 'string',
    status: 'string',
    priority: 'string',
    kind: 'string',
    openedAt: 'string',
    firstResponseAt: 'string',
    solvedAt: 'string',
    reopenCount: 'number',
    escalated: 'boolean',
    slaBreached: 'boolean',
    satisfaction: 'string',
    updatedAt: 'string',
  },
  surveys: { responseId: 'string', account: 'string', kind: 'string', score: 'number', comment: 'string', respondent: 'string', respondedAt: 'string' },
  contracts: {
    contractId: 'string',
    account: 'string',
    startDate: 'string',
    endDate: 'string',
    arr: 'number',
    currency: 'string',
    seats: 'number',
    autoRenew: 'boolean',
    status: 'string',
    paymentStatus: 'string',
    updatedAt: 'string',
  },
  outcomes: { outcomeId: 'string', account: 'string', kind: 'string', occurredOn: 'string', contractId: 'string', arr: 'number' },
} satisfies {
  usage: Record<keyof UsageEvent, ColumnType>;
  tickets: Record<keyof Ticket, ColumnType>;
  surveys: Record<keyof SurveyResponse, ColumnType>;
  contracts: Record<keyof Contract, ColumnType>;
  outcomes: Record<keyof OutcomeItem, ColumnType>;
};

const SHAPES = {
  usage: usageEventSchema.shape,
  tickets: ticketSchema.shape,
  surveys: surveyResponseSchema.shape,
  contracts: contractSchema.shape,
  outcomes: outcomeItemSchema.shape,
} as const;

/** The field holding each kind's natural id (reported in the error file). */
export const ID_FIELDS: Record<SignalName, string> = {
  usage: 'eventId',
  tickets: 'ticketId',
  surveys: 'responseId',
  contracts: 'contractId',
  outcomes: 'outcomeId',
};

/** Other header names accepted for `account` (CRM exports rarely call it that). */
const ACCOUNT_ALIASES = ['accountid', 'accountexternalid', 'externalid'];

export interface ColumnSpec {
  field: string;
  type: ColumnType;
  required: boolean;
}

/** The columns a CSV of this kind may have, in item order. */
export function columnsOf(kind: SignalName): ColumnSpec[] {
  const shape = SHAPES[kind] as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  return Object.entries(COLUMN_TYPES[kind] as Record<string, ColumnType>).map(([field, type]) => ({
    field,
    type,
    required: !shape[field]!.safeParse(undefined).success,
  }));
}

/** `eventId`, `event_id`, `Event ID` and `event-id` all name the same column. */
const normalise = (name: string) => name.trim().toLowerCase().replace(/[\s_-]+/g, '');

/** Maps each header position to a field (or null: ignored). Throws when a required column is missing or a field appears twice. */
export function mapHeader(kind: SignalName, header: string[]): { fields: (ColumnSpec | null)[]; ignored: string[] } {
  const byName = new Map<string, ColumnSpec>();
  for (const spec of columnsOf(kind)) byName.set(normalise(spec.field), spec);
  const account = byName.get('account')!;
  for (const alias of ACCOUNT_ALIASES) byName.set(alias, account);

  const seen = new Map<string, string>();
  const ignored: string[] = [];
  const fields = header.map((name) => {
    const spec = byName.get(normalise(name));
    if (!spec) {
      ignored.push(name);
      return null;
    }
    const earlier = seen.get(spec.field);
    if (earlier !== undefined) throw new CsvImportError(`columns "${earlier}" and "${name}" both give ${spec.field}`);
    seen.set(spec.field, name);
    return spec;
  });
  const missing = columnsOf(kind).filter((c) => c.required && !seen.has(c.field));
  if (missing.length > 0) {
    throw new CsvImportError(
      `the header lacks required column${missing.length > 1 ? 's' : ''} ${missing.map((c) => c.field).join(', ')} ` +
        `(found: ${header.join(', ') || 'nothing'})`,
    );
  }
  return { fields, ignored };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEANS = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
  ['y', true],
  ['n', false],
  ['t', true],
  ['f', false],
]);

/**
 * One cell to its item value. Empty (or blank) cells are absent, so defaults
 * apply. A cell that does not convert is passed on as text, so validation
 * rejects the row; `problem` then replaces the validator's message.
 */
export function convertCell(type: ColumnType, cell: string): { value?: unknown; problem?: string } {
  const trimmed = cell.trim();
  if (trimmed === '') return {};
  if (type === 'string') return { value: cell };
  if (type === 'number') {
    if (NUMBER.test(trimmed)) return { value: Number(trimmed) };
    return { value: cell, problem: `must be a number, got "${clip(cell)}"` };
  }
  const bool = BOOLEANS.get(trimmed.toLowerCase());
  if (bool !== undefined) return { value: bool };
  return { value: cell, problem: `must be true or false (or 1/0, yes/no), got "${clip(cell)}"` };
}

const clip = (s: string, max = 60) => (s.length > max ? `${s.slice(0, max)}…` : s);

export class CsvImportError extends Error {
  override name = 'CsvImportError';
}

export interface ImportCounts extends Record<ItemOutcome, number> {
  /** Data rows read (malformed lines included, header and blank lines not). */
  rows: number;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  counts: ImportCounts;
}

export interface ImportOptions {
  createMissingAccounts?: boolean;
  /** Rows per `ingestBatch` call (default 1000, at most MAX_SIGNAL_BATCH). */
  batchSize?: number;
  /** Where bad rows are reported; default `<file>.errors.csv`. */
  errorFile?: string;
  onProgress?(progress: ImportProgress): void;
  /** Called once with header names that match no field (they are ignored). */
  onIgnoredColumns?(names: string[]): void;
}

export interface ImportResult {
  counts: ImportCounts;
  /** Set when at least one row failed; the report then exists. */
  errorFile: string | null;
  /** Lines in the error report (a row with several bad fields has several). */
  errorLines: number;
  /** Set when the file could not be read to its end: rows after `line` were not imported. */
  stoppedAt: { line: number; message: string } | null;
}

export const DEFAULT_BATCH_SIZE = 1000;
/** A record longer than this is a runaway quoted field: stop instead of buffering the rest of the file. */
export const MAX_RECORD_CHARS = 1 << 20;

interface ErrorRow {
  line: number;
  id: string | null;
  field: string;
  message: string;
}

/** A parsed record and the line it starts on. */
interface Rec {
  line: number;
  fields: string[];
}

interface Row {
  line: number;
  item: Record<string, unknown>;
  problems: Map<string, string> | null;
}

const csvField = (v: string) => (/[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** The error report, created on the first error only. */
class ErrorReport {
  private handle: FileHandle | null = null;
  lines = 0;

  constructor(readonly path: string) {}

  async write(rows: ErrorRow[]) {
    if (rows.length === 0) return;
    if (!this.handle) {
      this.handle = await open(this.path, 'w');
      await this.handle.write('line,id,field,message\n');
    }
    rows.sort((a, b) => a.line - b.line);
    await this.handle.write(rows.map((r) => [String(r.line), r.id ?? '', r.field, r.message].map(csvField).join(',') + '\n').join(''));
    this.lines += rows.length;
  }

  get created() {
    return this.handle !== null;
  }

  async close() {
    await this.handle?.close();
  }
}

const newlines = (fields: string[]) => {
  let n = 0;
  for (const f of fields) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) n += 1;
  return n;
};

/**
 * Imports one CSV file of `kind` signals. Re-running it is safe: rows already
 * stored come back `unchanged`. Throws CsvImportError for a file it cannot
 * start on (unreadable, no header, missing required columns).
 */
export async function importCsv(db: Kysely<Database>, kind: SignalName, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_SIGNAL_BATCH) {
    throw new CsvImportError(`batch size must be an integer from 1 to ${MAX_SIGNAL_BATCH}`);
  }
  // Items are untyped rows here; ingestBatch validates them against the kind's own schema.
  const signal = SIGNALS[kind] as (typeof SIGNALS)['usage'];
  const idField = ID_FIELDS[kind];
  const report = new ErrorReport(options.errorFile ?? `${file}.errors.csv`);
  const counts: ImportCounts = { rows: 0, created: 0, updated: 0, unchanged: 0, stale: 0, error: 0 };

  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new CsvImportError(err.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${err.message}`);
  });
  if (!info.isFile()) throw new CsvImportError(`${file} is not a file`);
  const size = info.size;
  const source = createReadStream(file);

  // Malformed lines are skipped by the parser and reported here, in file order.
  // `lastLine` is the last line of the previous record, so a bad record's first
  // line is the one after it.
  const parseErrors: ErrorRow[] = [];
  let lastLine = 0;
  const parseOptions: ParseOptions<Rec, string[]> = {
    bom: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    on_record: (fields, context) => {
      const line = context.lines - newlines(fields);
      lastLine = context.lines;
      return { line, fields };
    },
    on_skip: (err) => {
      // A runaway record: csv-parse cannot resume after it, so stop here.
      if (err?.code === 'CSV_MAX_RECORD_SIZE') throw err;
      const line = lastLine + 1;
      const errLine = (err as { lines?: number } | undefined)?.lines;
      lastLine = typeof errLine === 'number' && errLine > lastLine ? errLine : line;
      parseErrors.push({ line, id: null, field: '(line)', message: `malformed CSV: ${err?.message ?? 'unreadable record'}` });
      return undefined;
    },
  };
  const parser = parse(parseOptions as unknown as ParseOptions);
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);

  let fields: (ColumnSpec | null)[] | null = null;
  let batch: Row[] = [];
  // Natural ids in `batch`: a repeat starts a new batch, so later rows apply
  // after earlier ones as if sent one by one (ingestBatch refuses repeats).
  let batchKeys = new Set<string>();
  let pendingErrors: ErrorRow[] = [];
  let stoppedAt: ImportResult['stoppedAt'] = null;

  const progress = () => options.onProgress?.({ bytesRead: source.bytesRead, totalBytes: size, counts: { ...counts } });

  /** Parse errors on lines before `line` belong before it in the report. */
  const takeParseErrors = (beforeLine: number) => {
    let n = 0;
    while (n < parseErrors.length && parseErrors[n]!.line < beforeLine) n += 1;
    const taken = parseErrors.splice(0, n);
    counts.rows += taken.length;
    counts.error += taken.length;
    pendingErrors.push(...taken);
  };

  const flush = async () => {
    const rows = batch;
    batch = [];
    batchKeys = new Set();
    if (rows.length > 0) {
      const result: BatchResult = await ingestBatch(
        db,
        signal,
        rows.map((r) => r.item),
        { createMissingAccounts: options.createMissingAccounts ?? false, idField },
      );
      for (const r of result.results) {
        const row = rows[r.index]!;
        counts.rows += 1;
        counts[r.result] += 1;
        if (r.result !== 'error') continue;
        for (const e of r.errors ?? [{ field: '(item)', message: 'rejected' }]) {
          const problem = row.problems?.get(e.field);
          pendingErrors.push({ line: row.line, id: r.id, field: e.field, message: problem ?? e.message });
        }
      }
    }
    const errors = pendingErrors;
    pendingErrors = [];
    await report.write(errors);
    progress();
  };

  try {
    for await (const record of parser as AsyncIterable<Rec>) {
      if (fields === null) {
        const mapped = mapHeader(kind, record.fields);
        fields = mapped.fields;
        if (mapped.ignored.length > 0) options.onIgnoredColumns?.(mapped.ignored);
        const beforeHeader = parseErrors[0];
        if (beforeHeader && beforeHeader.line < record.line) throw new CsvImportError(`cannot read the header: ${beforeHeader.message}`);
        // A report from an earlier run describes that run, not this one.
        await rm(report.path, { force: true });
        continue;
      }
      takeParseErrors(record.line);
      if (record.fields.every((f) => f.trim() === '')) continue;
      const item: Record<string, unknown> = {};
      let problems: Map<string, string> | null = null;
      record.fields.forEach((cell, i) => {
        const spec = fields![i];
        if (!spec) return;
        const { value, problem } = convertCell(spec.type, cell);
        if (value !== undefined) item[spec.field] = value;
        if (problem) (problems ??= new Map()).set(spec.field, problem);
      });
      const key = `${String(item.account)}\u0000${String(item[idField])}`;
      if (batchKeys.has(key)) await flush();
      batchKeys.add(key);
      batch.push({ line: record.line, item, problems });
      if (batch.length >= batchSize) await flush();
    }
  } catch (err) {
    if ((err as CsvError).code !== 'CSV_MAX_RECORD_SIZE' || fields === null) {
      source.destroy();
      await report.close();
      // Parser and file-system errors are about the file; anything else (the database, say) is passed on as it is.
      const aboutFile = err instanceof CsvError || (err instanceof Error && 'syscall' in err);
      if (aboutFile) throw new CsvImportError(`cannot read ${file}: ${err.message}`);
      throw err;
    }
    source.destroy();
    takeParseErrors(Number.POSITIVE_INFINITY);
    const line = lastLine + 1;
    stoppedAt = { line, message: `a record starting at line ${line} is longer than ${MAX_RECORD_CHARS} characters (an unclosed quote?)` };
    counts.rows += 1;
    counts.error += 1;
    pendingErrors.push({ line, id: null, field: '(line)', message: `malformed CSV: ${stoppedAt.message}; the rest of the file was not read` });
  }
  if (fields === null && stoppedAt === null) {
    await report.close();
    throw new CsvImportError(`${file} is empty: the first line must name the columns`);
  }
  try {
    takeParseErrors(Number.POSITIVE_INFINITY);
    await flush();
  } finally {
    await report.close();
  }
  return { counts, errorFile: report.created ? report.path : null, errorLines: report.lines, stoppedAt };
}
