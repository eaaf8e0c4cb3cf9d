import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { freePort } from './process.js';

const run = promisify(execFile);

/**
 * A throw-away PostgreSQL cluster of the test's own (Debian's pg_createcluster),
 * on a free port with trust authentication, which a test may stop and start
 * at will without touching the machine's server. Needs root (CI runs as root).
 */
export interface OwnCluster {
  url: string;
  port: number;
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  drop(): Promise<void>;
}

/** Why a cluster of its own cannot be made here, or undefined when it can. */
export function clusterUnavailableReason(): string | undefined {
  if (!existsSync('/usr/bin/pg_createcluster') || !existsSync('/usr/lib/postgresql')) return 'pg_createcluster (postgresql-common) is not installed';
  if (process.getuid?.() !== 0) return 'pg_createcluster needs root';
  if (readdirSync('/usr/lib/postgresql').length === 0) return 'no PostgreSQL server version is installed';
  return undefined;
}

export async function createOwnCluster(prefix: string): Promise<OwnCluster> {
  const version = readdirSync('/usr/lib/postgresql').sort().at(-1)!;
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const port = await freePort();
  const ctl = (...args: string[]) => run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...args]);
  await run('pg_createcluster', [version, name, '-p', String(port), '--', '--auth=trust']);
  const cluster: OwnCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async (mode = 'immediate') => void (await ctl('stop', '-m', mode)),
    start: async () => void (await ctl('start')),
    drop: async () => {
      await ctl('stop', '-m', 'immediate').catch(() => {});
      await run('pg_dropcluster', [version, name]).catch(() => {});
    },
  };
  try {
    await cluster.start();
  } catch (err) {
    await cluster.drop();
    throw err;
  }
  return cluster;
}

/** Drops clusters of this prefix left by a run that was killed before its clean-up (their owner process is gone). */
export function dropStaleClusters(prefix: string): void {
  let listing = '';
  try {
    listing = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of listing.split('\n')) {
    const [version, name] = line.trim().split(/\s+/);
    const pid = new RegExp(`^${prefix}_(\\d+)_`).exec(name ?? '')?.[1];
    if (!version || !name || !pid) continue;
    try {
      process.kill(Number(pid), 0);
      continue; // its run is still going
    } catch {
      execFile('pg_dropcluster', ['--stop', version, name], () => {});
    }
  }
}
