import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { type SignalName, SIGNAL_NAMES } from '../signals/ingest.js';
import { DEFAULT_BATCH_SIZE, type ImportCounts, importCsv } from '../signals/csv-import.js';
import { MAX_SIGNAL_BATCH } from '../signals/schemas.js';
import { planFollowUpsNow } from '../compose/plan-now.js';
import { createLogger } from '../logger.js';

export const IMPORT_USAGE = 'import <usage|tickets|surveys|contracts> FILE.csv [--create-missing-accounts] [--batch-size N]';

const PLANS_FOLLOW_UPS = ['tickets', 'surveys', 'contracts'];

type WithDatabase = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

const bytes = (n: number) => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
};

const perSecond = (rows: number, ms: number) => Math.round(rows / Math.max(ms / 1000, 0.001));

export function summaryLine(counts: ImportCounts, ms: number) {
  return (
    `${counts.rows} rows in ${(ms / 1000).toFixed(1)} s (${perSecond(counts.rows, ms)} rows/s): ` +
    `${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.stale} stale, ${counts.error} errors`
  );
}

/**
 * `import KIND FILE.csv`: streams the file through the intake pipeline. Exits
 * 0 once the file was read (bad rows are in the error report), and throws (so
 * exit 1) when it cannot start or has to stop early.
 */
export async function importCommand(args: string[], withDatabase: WithDatabase): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'create-missing-accounts': { type: 'boolean' }, 'batch-size': { type: 'string' } },
  });
  const [kind, file, ...extra] = positionals;
  if (!kind || !file || extra.length > 0) throw new Error(`usage: npm run cli -- ${IMPORT_USAGE}`);
  if (!(SIGNAL_NAMES as string[]).includes(kind)) throw new Error(`unknown kind "${kind}": use one of ${SIGNAL_NAMES.join(', ')}`);
  let batchSize = DEFAULT_BATCH_SIZE;
  if (values['batch-size'] !== undefined) {
    batchSize = Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_SIGNAL_BATCH) {
      throw new Error(`--batch-size must be an integer from 1 to ${MAX_SIGNAL_BATCH}`);
    }
  }
  // Before opening the database: a typo in the path should not create one.
  const info = await stat(file).catch(() => null);
  if (!info) throw new Error(`no such file: ${file}`);
  if (!info.isFile()) throw new Error(`not a file: ${file}`);

  const interactive = Boolean(process.stdout.isTTY);
  const bar = interactive
    ? new SingleBar(
        {
          format: '{bar} {percentage}% | {read} of {size} | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
          stream: process.stdout,
          hideCursor: true,
          etaBuffer: 20,
          fps: 5,
        },
        Presets.shades_classic,
      )
    : null;

  let ignored: string[] = [];
  let started = Date.now();
  const result = await withDatabase(async (db) => {
    started = Date.now();
    bar?.start(info.size, 0, { read: bytes(0), size: bytes(info.size), rows: 0, rate: 0 });
    try {
      const imported = await importCsv(db, kind as SignalName, file, {
        createMissingAccounts: values['create-missing-accounts'] ?? false,
        batchSize,
        onIgnoredColumns: (names) => (ignored = names),
        onProgress: ({ bytesRead, counts }) =>
          bar?.update(Math.min(bytesRead, info.size), {
            read: bytes(bytesRead),
            rows: counts.rows,
            rate: perSecond(counts.rows, Date.now() - started),
          }),
      });
      // Tickets, surveys and contracts can be causes of follow-ups: plan them now, not at the next hour.
      const planned = PLANS_FOLLOW_UPS.includes(kind) && !imported.stoppedAt ? await planFollowUpsNow(db, createLogger('warn')) : undefined;
      return { ...imported, planned };
    } finally {
      bar?.stop();
    }
  });

  const ms = Date.now() - started;
  if (ignored.length > 0) console.error(`note: ignored column${ignored.length > 1 ? 's' : ''} ${ignored.map((n) => `"${n}"`).join(', ')}`);
  console.log(`imported ${kind} from ${file}: ${summaryLine(result.counts, ms)}`);
  if (result.errorFile) {
    const n = result.counts.error;
    console.log(`${n} ${n === 1 ? 'row' : 'rows'} failed: see ${result.errorFile} (${result.errorLines} ${result.errorLines === 1 ? 'line' : 'lines'})`);
  }
  if (result.planned !== undefined) {
    console.log(
      typeof result.planned === 'object'
        ? `follow-ups: ${result.planned.created} planned`
        : `follow-ups: not planned now (${result.planned === 'busy' ? 'a planning run is in progress' : 'the planning run failed'}); the hourly run plans them`,
    );
  }
  if (result.stoppedAt) {
    throw new Error(`stopped at line ${result.stoppedAt.line}: ${result.stoppedAt.message}; fix the file and run the import again (rows already stored come back unchanged)`);
  }
}
