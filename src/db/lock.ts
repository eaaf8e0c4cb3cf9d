import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One process at a time on an embedded data folder: PGlite is PostgreSQL in
 * this process's memory, so a second process opening the same files (a CLI
 * command beside a running service) would corrupt them. The lock is a file
 * created exclusively, naming its owner; one whose process is gone (a crash,
 * SIGKILL) is taken over.
 */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: { pid: number; owner: string; since: string },
  ) {
    super(
      `the embedded database in ${dataDir} is in use by ${holder.owner} (pid ${holder.pid}, since ${holder.since}). ` +
        'Embedded PostgreSQL serves one process at a time: stop it first (Ctrl-C in its terminal), run this, then start it again; ' +
        'or use a PostgreSQL server (DATABASE_URL), which any number of processes can share.',
    );
    this.name = 'DataDirLockedError';
  }
}

const LOCK_FILE = 'healthscore.lock';

/** Whether a process with this id exists (EPERM: it does, owned by someone else). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the data folder's lock for this process; returns its release. Throws DataDirLockedError when a live process holds it. */
export function lockDataDir(dataDir: string, owner: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder: { pid: number; owner: string; since: string } | undefined;
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; owner: string; since: string };
      } catch {
        holder = undefined; // half-written or unreadable: treated as stale
      }
      if (holder && holder.pid !== process.pid && alive(holder.pid)) throw new DataDirLockedError(dataDir, holder);
      try {
        unlinkSync(path);
      } catch {
        // another process took it over first; try again
      }
      continue;
    }
    writeSync(fd, JSON.stringify({ pid: process.pid, owner, since: new Date().toISOString() }));
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      try {
        const holder = JSON.parse(readFileSync(path, 'utf8')) as { pid: number };
        if (holder.pid === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
    };
    process.once('exit', release);
    return release;
  }
  throw new Error(`could not take the lock ${path}`);
}
