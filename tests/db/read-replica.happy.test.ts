import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { createApiKey } from '../../src/auth/repository.js';
import { clearKeyCache } from '../../src/auth/middleware.js';
import { createPostgresDb } from '../../src/db/postgres.js';
import { serveNode } from '../../src/http/node-server.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, waitFor } from '../support/process.js';
import { measureReplicaLag } from '../../src/db/read-routing.js';
import { adminUrl, databaseUrl } from '../support/urls.js';
import { Client, emailOf, PASSWORD } from '../web/support.js';
import { createDemoPeople } from '../../src/people/demo.js';

/**
 * Read routing against a real streaming replica: a second PostgreSQL cluster
 * on this machine, made with pg_basebackup from the server of DATABASE_URL.
 */
const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;
/** Cluster commands run as the postgres OS user when the tests run as root (PostgreSQL refuses root). */
const asPostgres = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));

async function whyNoReplica(): Promise<string | undefined> {
  const url = process.env.DATABASE_URL;
  if (!url) return 'DATABASE_URL is unset: a replica needs the PostgreSQL server';
  const admin = createPostgresDb({ url: adminUrl(url), max: 1 });
  try {
    const { rows } = await sql<{ version: string; wal_level: string; senders: number; hba: boolean }>`
      select current_setting('server_version_num') as version, current_setting('wal_level') as wal_level,
             current_setting('max_wal_senders')::int as senders,
             exists (select 1 from pg_hba_file_rules where type like 'host%' and 'replication' = any(database)
                     and (address is null or address in ('127.0.0.1', 'all', 'samehost', 'samenet'))) as hba`.execute(admin.db);
    const s = rows[0]!;
    const bin = `/usr/lib/postgresql/${Math.floor(Number(s.version) / 10000)}/bin`;
    if (!existsSync(`${bin}/pg_ctl`)) return `no ${bin}/pg_ctl on this machine`;
    if (!['replica', 'logical'].includes(s.wal_level) || s.senders < 2) return `the server's wal_level (${s.wal_level}) or max_wal_senders (${s.senders}) does not allow streaming replication`;
    if (!s.hba) return "the server's pg_hba.conf allows no replication connections from 127.0.0.1 (add `host replication all 127.0.0.1/32 trust` and reload)";
    binDir = bin;
    return undefined;
  } finally {
    await admin.close();
  }
}

let binDir = '';
const skipReason = await whyNoReplica();
if (skipReason) console.log(`read-replica tests skipped: ${skipReason}`);

type Server = { url: string; close(): Promise<void> };

async function serve(app: ReturnType<typeof createApp>): Promise<Server> {
  const server = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      }),
  };
}

describe('without DATABASE_READ_URL', () => {
  let database: TestDatabase;
  let server: Server;
  let key: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    server = await serve(createApp({ database: () => database.db, logger: createLogger('silent') }));
    key = (await createApiKey(database.db, 'reader', ['read'])).key;
  });
  afterAll(async () => {
    await server?.close();
    clearKeyCache();
    await database?.close();
  });

  it('serves feeds and lists from the primary and says so', async () => {
    for (const path of ['/v1/health', '/v1/accounts', '/v1/outcomes', '/v1/alerts', '/v1/follow-ups', '/v1/health?format=csv']) {
      const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-read-source'), path).toBe('primary');
    }
  });
});

describe.skipIf(skipReason !== undefined)('with a streaming replica (DATABASE_READ_URL)', () => {
  let database: TestDatabase;
  let dataDir = '';
  let replicaUrl = '';
  let replicaRunning = false;
  const slot = `hs_test_replica_${Math.random().toString(36).slice(2, 10)}`;
  let slotCreated = false;
  let replica: ReturnType<typeof createPostgresDb>;
  let replicaAdmin: ReturnType<typeof createPostgresDb>;
  /** Reads tolerate any lag: only the cursor rule and failures send them to the primary. */
  let tolerant: Server;
  /** Reads tolerate 500 ms of lag. */
  let strict: Server;
  let key: string;

  const call = (server: Server, method: string, path: string, body?: unknown) =>
    fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  type Page = { items: { externalId: string }[]; nextCursor: string | null; hasMore: boolean };
  const listAccounts = async (server: Server, cursor?: string) => {
    const res = await call(server, 'GET', `/v1/accounts?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    if (res.status !== 200) lastSeen = { status: res.status, body: await res.clone().text() };
    expect(res.status).toBe(200);
    const seen = { source: res.headers.get('x-read-source'), page: (await res.json()) as Page };
    lastSeen = { source: seen.source, ids: seen.page.items.map((a) => a.externalId), cursor: cursor ?? null };
    return seen;
  };

  /** waitFor, and on a time-out what the last look saw and what the replica says of itself. */
  let lastSeen: unknown;
  const poll = async (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
    try {
      await waitFor(check, timeoutMs, what);
    } catch (err) {
      const state = await sql<{ paused: boolean; receive: string; replay: string }>`
        select pg_is_wal_replay_paused() as paused, pg_last_wal_receive_lsn()::text as receive, pg_last_wal_replay_lsn()::text as replay`
        .execute(replicaAdmin.db)
        .then((r) => r.rows[0])
        .catch((e: unknown) => String(e));
      const lag = await measureReplicaLag(replicaAdmin.db).catch((e: unknown) => String(e));
      const log = readFileSync(join(dataDir, 'server.log'), 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(lastSeen)}; replica ${JSON.stringify(state)}, lag ${lag} ms; replica log:\n${log}`);
    }
  };

  const stopReplica = async () => {
    if (!replicaRunning) return;
    replicaRunning = false;
    await asPostgres(`${binDir}/pg_ctl`, ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await createDemoPeople(database.db, PASSWORD);
    dataDir = mkdtempSync(join(tmpdir(), 'hs-replica-'));
    if (asRoot) chownSync(dataDir, ...(await postgresIds()));
    const primary = new URL(process.env.DATABASE_URL!);
    // A replication slot of its own (-C -S): without one, a busy primary may recycle the WAL the
    // replica needs before it starts streaming ("requested WAL segment … has already been removed").
    await asPostgres(`${binDir}/pg_basebackup`, ['-h', primary.hostname, '-p', primary.port || '5432', '-U', primary.username || 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '-C', '-S', slot]);
    slotCreated = true;
    // A Debian cluster keeps its configuration in /etc: the copy gets its own, with the
    // settings a hot standby needs at least as high as the primary's.
    const port = await freePort();
    writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    writeFileSync(
      join(dataDir, 'postgresql.conf'),
      [
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dataDir}'`,
        'hot_standby = on',
        'shared_buffers = 32MB',
        'max_connections = 200',
        'max_worker_processes = 16',
        'max_wal_senders = 16',
        'max_locks_per_transaction = 256',
        'max_prepared_transactions = 100',
        'wal_receiver_status_interval = 1s',
        '',
      ].join('\n'),
    );
    if (asRoot) for (const f of ['pg_hba.conf', 'postgresql.conf']) chownSync(join(dataDir, f), ...(await postgresIds()));
    await asPostgres(`${binDir}/pg_ctl`, ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-w', '-t', '120', 'start']);
    replicaRunning = true;

    replicaUrl = databaseUrl(`postgres://postgres@127.0.0.1:${port}/postgres`, new URL(database.url!).pathname.slice(1));
    replica = createPostgresDb({ url: replicaUrl, max: 5, connectTimeoutSeconds: 2 });
    replicaAdmin = createPostgresDb({ url: replicaUrl, max: 1 });
    const app = (readMaxLagMs: number) =>
      createApp({ database: () => database.db, readDatabase: () => replica.db, readMaxLagMs, logger: createLogger('silent') });
    tolerant = await serve(app(3_600_000));
    strict = await serve(app(500));
    key = (await createApiKey(database.db, 'replica-test', ['read', 'write'])).key;
  }, 600_000); // pg_basebackup copies the whole server, bench databases included

  afterAll(async () => {
    // Always, also after a failure: nothing of the replica outlives the file.
    await tolerant?.close();
    await strict?.close();
    await replica?.close();
    await replicaAdmin?.close();
    await stopReplica();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    // The slot would keep the primary's WAL forever.
    if (slotCreated) await dropSlot(slot);
    clearKeyCache();
    await database?.close();
  });

  it('serves feeds from the replica; GET of one account right after its PUT reads the primary', async () => {
    const put = await call(tolerant, 'PUT', '/v1/accounts/replica-a', { name: 'Replica A', segment: 'smb' });
    expect(put.status).toBe(201);
    const got = await call(tolerant, 'GET', '/v1/accounts/replica-a');
    expect(got.status).toBe(200);
    expect(((await got.json()) as { name: string }).name).toBe('Replica A');
    expect(got.headers.get('x-read-source')).toBeNull();

    // The row appears on the replica once replayed.
    await poll(async () => {
      const { source, page } = await listAccounts(tolerant);
      return source === 'replica' && page.items.some((a) => a.externalId === 'replica-a');
    }, 30_000, 'the account on the replica');
    for (const path of ['/v1/health', '/v1/health?format=csv', '/v1/outcomes', '/v1/alerts', '/v1/follow-ups']) {
      const res = await call(tolerant, 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-read-source'), path).toBe('replica');
    }
 
    // The web app: signing in writes a session on the primary, the portfolio and its CSV read the replica.
    const browser = new Client(tolerant.url);
    expect((await browser.signIn(emailOf('csm'))).status).toBe(303);
    for (const path of ['/portfolio?owner=', '/portfolio.csv?owner=']) {
      const page = await browser.get(path);
      expect(page.status, path).toBe(200);
      expect(page.headers.get('x-read-source'), path).toBe('replica');
    }
  });

  it('sends reads to the primary while replay lags, and never lets a cursor from the primary skip rows', async () => {
    const before = await listAccounts(tolerant);
    await sql`select pg_wal_replay_pause()`.execute(replicaAdmin.db);
    try {
      expect((await call(tolerant, 'PUT', '/v1/accounts/replica-b', { name: 'Replica B' })).status).toBe(201);

      // Lag above 500 ms: the strict app reads the primary, and sees the new row.
      await poll(async () => {
        const { source, page } = await listAccounts(strict);
        return source === 'primary' && page.items.some((a) => a.externalId === 'replica-b');
      }, 30_000, 'the lagging replica to be bypassed');

      // The tolerant app still reads the replica, which does not have it yet.
      const stale = await listAccounts(tolerant, before.page.nextCursor ?? undefined);
      expect(stale.source).toBe('replica');
      expect(stale.page.items.map((a) => a.externalId)).not.toContain('replica-b');

      // A cursor the primary handed out past replica-b is newer than the replica: the primary serves it.
      const fromPrimary = await listAccounts(strict, before.page.nextCursor ?? undefined);
      expect(fromPrimary.page.items.map((a) => a.externalId)).toContain('replica-b');
      const next = await listAccounts(tolerant, fromPrimary.page.nextCursor!);
      expect(next.source).toBe('primary');
    } finally {
      await sql`select pg_wal_replay_resume()`.execute(replicaAdmin.db);
    }

    // Replay resumed: the stale cursor's next page, on the replica, brings replica-b (nothing skipped).
    await poll(async () => {
      const { source, page } = await listAccounts(tolerant, before.page.nextCursor ?? undefined);
      return source === 'replica' && page.items.some((a) => a.externalId === 'replica-b');
    }, 30_000, 'replica-b on the replica after replay resumed');
    await poll(async () => (await listAccounts(strict)).source === 'replica', 60_000, 'the strict app back on the replica');
  });

  it('falls back to the primary, with no 5xx, when the replica stops', async () => {
    expect((await listAccounts(tolerant)).source).toBe('replica');
    await stopReplica();
    for (let i = 0; i < 5; i++) {
      for (const path of ['/v1/accounts', '/v1/health', '/v1/outcomes']) {
        const res = await call(tolerant, 'GET', path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('x-read-source'), path).toBe('primary');
      }
    }
  });
});

async function dropSlot(name: string) {
  const admin = createPostgresDb({ url: adminUrl(process.env.DATABASE_URL!), max: 1 });
  try {
    // The walsender of a replica just stopped may hold the slot a moment longer.
    await waitFor(async () => {
      await sql`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${name} and not active`.execute(admin.db);
      const { rows } = await sql`select 1 from pg_replication_slots where slot_name = ${name}`.execute(admin.db);
      return rows.length === 0;
    }, 30_000, `replication slot ${name} dropped`);
  } finally {
    await admin.close();
  }
}

async function postgresIds(): Promise<[number, number]> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return [Number(uid.stdout.trim()), Number(gid.stdout.trim())];
}
