import { parseArgs } from 'node:util';
import { parseScopes } from '../auth/keys.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/repository.js';
import { ConfigError, parseConfig } from '../config.js';
import { migrate, openDatabase } from '../db/node.js';
import { demoCommand } from './demo.js';
import { importCommand } from './import.js';
import { PEOPLE_USAGE, peopleCommand } from '../people/cli.js';
import { webhooksCommand } from './webhooks.js';
import { NOTIFICATIONS_USAGE, notificationsCommand } from '../notifications/cli.js';
import { PROOF_USAGE, proofCommand } from '../proof/cli.js';

const USAGE = `usage: npm run cli -- <command>

  migrate                                   apply pending migrations
  keys create --name NAME --scopes a,b      create an API key (scopes: read, write, ingest, admin)
  keys list                                 list keys (never their secrets)
  keys revoke ID                            revoke a key
  import <usage|tickets|surveys|contracts|outcomes> FILE.csv [--create-missing-accounts] [--batch-size N]
                                            backfill signals from a CSV file (see docs/csv-import.md)
  demo [--accounts N] [--seed S] [--as-of YYYY-MM-DD] [--no-history]
                                            fill the database with a generated demo portfolio (docs/demo-data.md)
  webhooks add-source NAME                  create an inbound webhook source; prints its secret once
  webhooks rotate NAME [--expire-old-hours H]
                                            add a secret; older ones keep verifying H hours (default 24)
  webhooks list                             list webhook sources (never their secrets)
${PROOF_USAGE}
${NOTIFICATIONS_USAGE}
${PEOPLE_USAGE}

Uses DATABASE_URL when set, else the embedded database under DATA_DIR (./data).`;

class UsageError extends Error {}

type Db = Awaited<ReturnType<typeof openDatabase>>['db'];

/** Opens the configured database, brings its schema up to date, runs fn, closes. */
async function withDatabase<T>(fn: (db: Db, applied: string[]) => Promise<T>): Promise<T> {
  const database = await openDatabase(parseConfig(process.env));
  try {
    const applied = await migrate(database.db);
    return await fn(database.db, applied);
  } finally {
    await database.close();
  }
}

async function keys(args: string[]) {
  const [action, ...rest] = args;
  if (action === 'create') {
    const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, scopes: { type: 'string' } } });
    if (!values.name || !values.scopes) throw new UsageError('keys create needs --name and --scopes');
    const scopes = parseScopes(values.scopes);
    const { key, info } = await withDatabase((db) => createApiKey(db, values.name!, scopes));
    console.log(`created key ${info.id} "${info.name}" with scopes ${info.scopes.join(',')}`);
    console.log(`secret (shown once): ${key}`);
    return;
  }
  if (action === 'list') {
    const items = await withDatabase((db) => listApiKeys(db));
    console.log(['id', 'name', 'prefix', 'scopes', 'created', 'last used', 'revoked'].join('\t'));
    for (const k of items) {
      console.log(
        [k.id, k.name, `${k.prefix}…`, k.scopes.join(','), k.createdAt.toISOString(), k.lastUsedAt?.toISOString() ?? '-', k.revokedAt?.toISOString() ?? '-'].join('\t'),
      );
    }
    return;
  }
  if (action === 'revoke') {
    const id = Number(rest[0]);
    if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError('keys revoke needs a key id');
    const revoked = await withDatabase((db) => revokeApiKey(db, id));
    if (!revoked) throw new Error(`no live key with id ${id}`);
    console.log(`revoked key ${id}`);
    return;
  }
  throw new UsageError(`unknown keys action: ${action ?? '(none)'}`);
}

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      const applied = await withDatabase(async (_db, applied) => applied);
      console.log(applied.length ? `applied ${applied.join(', ')}` : 'migrations are current');
      return;
    }
    case 'keys':
      return keys(rest);
    case 'import':
      return importCommand(rest, withDatabase);
    case 'demo':
      return demoCommand(rest, withDatabase);
    case 'webhooks':
      return webhooksCommand(rest, withDatabase, (m) => new UsageError(m));
    case 'notifications':
      return notificationsCommand(rest, withDatabase, (m) => new UsageError(m));
    case 'people':
      return peopleCommand(rest, withDatabase, (m) => new UsageError(m));
    case 'backtest':
    case 'fit':
      return proofCommand(command, rest, withDatabase, (m) => new UsageError(m));
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
  else if (err instanceof ConfigError) console.error(`healthscore: ${err.message}`);
  else console.error(`healthscore: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
