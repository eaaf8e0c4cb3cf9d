import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Kysely } from 'kysely';
import { Agent, fetch as undiciFetch } from 'undici';
import { alive } from '../db/lock.js';
import type { Database } from '../db/schema.js';
import { type DemoRun, demoOptionsSchema, type DemoRunOptions, runDemo, writtenOf } from '../demo/command.js';
import type { Logger } from '../logger.js';
import { errorFields } from '../logger.js';
import { serveNode } from '../http/node-server.js';
import { problemResponse } from '../http/problem.js';

/**
 * The embedded database serves one process (src/db/lock.ts), so a CLI command
 * beside a running `npm start` cannot open it. The service therefore takes
 * `demo` itself: a second HTTP listener on 127.0.0.1 only (an ephemeral port,
 * never the public one), authenticated by a random token the service writes,
 * with its address, into the data folder readable by its user alone (0600).
 * Whoever can read that file can already read the database files beside it.
 */
const LINK_FILE = 'healthscore.admin.json';

export interface ServiceLink {
  pid: number;
  url: string;
  token: string;
}

/** One NDJSON line of the streamed answer to POST /demo. */
export type DemoStreamLine = { progress: { kind: string; written: number } } | { done: DemoRun } | { error: string };

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

function localAdminApp(db: Kysely<Database>, token: string, logger: Logger, dump?: () => Promise<Blob | File>) {
  const app = new Hono();
  app.use(requestId({ headerName: 'x-request-id' }));
  app.use(async (c, next) => {
    if (!sameSecret(c.req.header('authorization') ?? '', `Bearer ${token}`)) {
      return problemResponse(c, 'unauthorized', `the local admin token (in ${LINK_FILE} of the data folder) is missing or wrong`);
    }
    await next();
  });
  app.post(
    '/demo',
    zValidator('json', demoOptionsSchema, (result, c) => {
      if (!result.success) return problemResponse(c, 'validation_failed', result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    }),
    (c) => {
      const options = c.req.valid('json');
      logger.info('demo requested by the CLI', { requestId: c.var.requestId, ...options });
      // Streamed: progress while it writes, then the summary; a 300-account demo takes tens of seconds.
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          const send = (line: DemoStreamLine) => controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
          try {
            send({ done: await runDemo(db, options, (kind, n) => send({ progress: { kind, written: writtenOf(n) } })) });
          } catch (err) {
            logger.error('demo failed', { requestId: c.var.requestId, ...errorFields(err) });
            send({ error: err instanceof Error ? err.message : String(err) });
          }
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'application/x-ndjson', 'x-request-id': c.var.requestId } });
    },
  );
  // `backup`: the service copies the database it holds (PGlite's dumpDataDir), so the copy is consistent while it runs.
  app.post('/backup', async (c) => {
    if (!dump) return problemResponse(c, 'not_found', 'this service has no embedded database to back up');
    logger.info('backup requested by the CLI', { requestId: c.var.requestId });
    const tarball = await dump();
    return new Response(tarball.stream(), { headers: { 'content-type': 'application/gzip', 'x-request-id': c.var.requestId } });
  });
  app.notFound((c) => problemResponse(c, 'not_found', `${c.req.method} ${c.req.path} is not a local admin command`));
  return app;
}

/** Starts the loopback listener and writes the link file; close() stops it and removes the file. */
export async function startLocalAdmin(options: { dataDir: string; db: Kysely<Database>; logger: Logger; dump?: () => Promise<Blob | File> }) {
  const token = randomBytes(32).toString('base64url');
  const app = localAdminApp(options.db, token, options.logger, options.dump);
  const server = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const link: ServiceLink = { pid: process.pid, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token };
  const path = join(options.dataDir, LINK_FILE);
  const temporary = `${path}.${process.pid}`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, JSON.stringify(link), { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
  return {
    async close() {
      try {
        if ((JSON.parse(readFileSync(path, 'utf8')) as ServiceLink).pid === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The link a live service left in the data folder, if any. */
export function readServiceLink(dataDir: string): ServiceLink | undefined {
  try {
    const link = JSON.parse(readFileSync(join(dataDir, LINK_FILE), 'utf8')) as ServiceLink;
    return typeof link.url === 'string' && typeof link.token === 'string' && alive(link.pid) ? link : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `demo` in the service behind the link; progress as it streams, the run at the end. */
export async function runDemoInService(link: ServiceLink, options: DemoRunOptions, onProgress?: (kind: string, written: number) => void): Promise<DemoRun> {
  // No timeouts: a large demo writes for minutes, and the service is on this machine.
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await undiciFetch(`${link.url}/demo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${link.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(options),
      dispatcher,
    });
    if (!res.ok || !res.body) {
      const problem = (await res.json().catch(() => ({}))) as { detail?: string };
      throw new Error(`the service refused the demo (${res.status}): ${problem.detail ?? res.statusText}`);
    }
    let buffered = '';
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as DemoStreamLine;
        buffered = buffered.slice(newline + 1);
        if ('progress' in line) onProgress?.(line.progress.kind, line.progress.written);
        else if ('error' in line) throw new Error(`the demo failed in the service: ${line.error}`);
        else return line.done;
      }
    }
    throw new Error('the service closed the connection before the demo finished (was it stopped?)');
  } finally {
    await dispatcher.close();
  }
}

/** Asks the service behind the link for a backup of its database; the tarball's bytes. */
export async function backupFromService(link: ServiceLink): Promise<Uint8Array> {
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  try {
    const res = await undiciFetch(`${link.url}/backup`, { method: 'POST', headers: { authorization: `Bearer ${link.token}` }, dispatcher });
    if (!res.ok) throw new Error(`the service refused the backup (${res.status})`);
    return new Uint8Array(await res.arrayBuffer());
  } finally {
    await dispatcher.close();
  }
}
