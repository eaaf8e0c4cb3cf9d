import type { Kysely } from 'kysely';
import { DataDirLockedError } from '../db/lock.js';
import type { Database } from '../db/schema.js';
import { type DemoRun, parseDemoArgs, printDemoRun, runDemo, writtenOf } from '../demo/command.js';
import { readServiceLink, runDemoInService } from './local-admin.js';

type WithDatabase = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

const progress = process.stdout.isTTY ? (kind: string, written: number) => process.stdout.write(`\r  ${kind}: ${written} written…`.padEnd(40)) : undefined;

/**
 * `demo`: on the configured database; or, when a running embedded service
 * holds the data folder, in that service (src/cli/local-admin.ts), so
 * `npm start` in one terminal and `npm run cli -- demo` in another just works.
 */
export async function demoCommand(args: string[], withDatabase: WithDatabase): Promise<void> {
  const options = parseDemoArgs(args);
  let run: DemoRun;
  try {
    run = await withDatabase((db) => runDemo(db, options, progress && ((kind, c) => progress(kind, writtenOf(c)))));
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    const link = readServiceLink(err.dataDir);
    if (!link || link.pid !== err.holder.pid) throw err;
    console.log(`the service (pid ${link.pid}) is running on ${err.dataDir}: the demo runs in it`);
    run = await runDemoInService(link, options, progress);
  }
  if (progress) process.stdout.write('\r'.padEnd(41) + '\r');
  printDemoRun(run);
}
