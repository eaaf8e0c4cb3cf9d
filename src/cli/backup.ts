import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { lockDataDir } from '../db/lock.js';
import { openDatabase } from '../db/node.js';
import { backupFromService, readServiceLink } from './local-admin.js';

export const BACKUP_USAGE = `  backup FILE                               copy the embedded database to FILE (a gzipped tarball), also while the service runs
  restore FILE                              replace the embedded database with FILE (stop the service first; the old data folder is kept beside it)`;

type BackupConfig = Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_MAX'>;

const serverCase = 'DATABASE_URL is set: back up the server with pg_dump or base backups (docs/security.md#backups)';

/** `backup FILE`: from the running service when there is one (it holds the data folder), else from the folder itself. */
export async function backupCommand(args: string[], config: BackupConfig): Promise<string> {
  const [file, ...extra] = args;
  if (!file || extra.length) throw new Error('usage: npm run cli -- backup FILE');
  if (config.DATABASE_URL) throw new Error(serverCase);
  const link = readServiceLink(config.DATA_DIR);
  let bytes: Uint8Array;
  if (link) bytes = await backupFromService(link);
  else {
    const database = await openDatabase(config, { owner: 'npm run cli -- backup' });
    try {
      const dump = 'dump' in database ? database.dump : undefined;
      if (!dump) throw new Error(serverCase);
      bytes = new Uint8Array(await (await dump()).arrayBuffer());
    } finally {
      await database.close();
    }
  }
  await writeFile(file, bytes, { mode: 0o600 });
  return `backed up the embedded database${link ? ' (from the running service)' : ''} to ${file} (${bytes.length} bytes)`;
}

/** `restore FILE`: into a new folder first, then swapped in; the previous folder is kept as DATA_DIR.before-restore-<time>. */
export async function restoreCommand(args: string[], config: BackupConfig): Promise<string> {
  const [file, ...extra] = args;
  if (!file || extra.length) throw new Error('usage: npm run cli -- restore FILE');
  if (config.DATABASE_URL) throw new Error('DATABASE_URL is set: restore the server with pg_restore (docs/security.md#backups)');
  if (readServiceLink(config.DATA_DIR)) throw new Error('the service is running on this data folder: stop it, then restore');
  const tarball = new Blob([await readFile(file)]);
  const dataDir = resolve(config.DATA_DIR);
  const incoming = `${dataDir}.restoring-${process.pid}`;
  await rm(incoming, { recursive: true, force: true });
  const { createEmbeddedDb } = await import('../db/embedded.js');
  const restored = await createEmbeddedDb(incoming, tarball);
  await restored.db.selectFrom('accounts').select('id').limit(1).execute();
  await restored.close();
  let kept: string | undefined;
  if (existsSync(dataDir)) {
    // Nobody may hold the folder while it is swapped.
    const release = lockDataDir(dataDir, 'npm run cli -- restore');
    kept = `${dataDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    release();
    await rename(dataDir, kept);
  }
  await rename(incoming, dataDir);
  return `restored ${file} into ${dataDir}${kept ? ` (the previous folder is kept at ${kept})` : ''}`;
}
