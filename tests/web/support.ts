import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '../../src/app.js';
import { raiseAlerts } from '../../src/alerts/index.js';
import { jsonb } from '../../src/db/params.js';
import type { Database } from '../../src/db/schema.js';
import { generateDemo } from '../../src/demo/generate.js';
import type { Logger } from '../../src/logger.js';
import { createDemoPeople, DEMO_PEOPLE } from '../../src/people/demo.js';
import type { Role } from '../../src/people/roles.js';
import { recompute } from '../../src/scoring/recompute.js';
import { nodeDocsAssets } from '../../src/system/node-assets.js';
import { nodeWebAssets } from '../../src/web/node-assets.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import type { Kysely } from 'kysely';

// Cheap bcrypt in tests (the cost is read at each hash).
process.env.HEALTHSCORE_BCRYPT_COST ??= '4';

export const PASSWORD = 'correct horse battery';

export interface WebServer {
  url: string;
  database: TestDatabase;
  db: Kysely<Database>;
  /** Every log line the app wrote, as JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/** The real app (with the web app's assets) on a real port over this file's own database. */
export async function startWebServer(): Promise<WebServer> {
  const database = await createTestDatabase();
  const logs: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => logs.push(JSON.stringify({ level, msg, ...fields }));
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const app = createApp({ database: () => database.db, logger, docsAssets: nodeDocsAssets, webAssets: nodeWebAssets, allowPrivateWebhookUrls: true });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    database,
    db: database.db,
    logs,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await database.close();
    },
  };
}

export const emailOf = (role: Role) => DEMO_PEOPLE.find((p) => p.role === role)!.email;

export interface Fixture {
  /** An account owned by the demo CSM, scored, with an open alert for the retention specialist and follow-ups for the CSM. */
  account: { id: number; externalId: string; name: string };
  alertId: number;
  followUps: { overdue: number; today: number };
}

/**
 * A small demo portfolio, scored; the demo team (password PASSWORD); one open
 * alert and two follow-ups placed where the pages show them.
 */
export async function seed(db: Kysely<Database>): Promise<Fixture> {
  await generateDemo(db, { accounts: 24, seed: 11 });
  await recompute(db, { accountIds: null, refreshDistributions: true, after: raiseAlerts });
  await createDemoPeople(db, PASSWORD);
  const account = await db
    .selectFrom('accounts as a')
    .innerJoin('health_scores as h', 'h.account_id', 'a.id')
    .select(['a.id', 'a.external_id', 'a.name'])
    .where('a.owner', '=', emailOf('csm'))
    .orderBy('a.id')
    .limit(1)
    .executeTakeFirstOrThrow();
  const alertId = await makeAlert(db, account.id);
  const followUp = async (anchor: string, dueAt: Date) =>
    (
      await db
        .insertInto('follow_ups')
        .values({
          account_id: account.id,
          playbook_key: 'web-test',
          playbook_version: 1,
          anchor,
          kind: 'call',
          title: `Check-in call ${anchor}`,
          reason: 'Score dropped',
          cause_type: 'periodic',
          cause_ref: anchor,
          assignee: emailOf('csm'),
          timezone: 'UTC',
          due_at: dueAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const overdue = await followUp('overdue', new Date(Date.now() - 2 * 86400e3));
  const today = await followUp('later', new Date(Date.now() + 2 * 3600e3));
  return { account: { id: account.id, externalId: account.external_id, name: account.name }, alertId, followUps: { overdue, today } };
}

/**
 * An open critical alert for the retention specialist. Its rule is not in the
 * rule set, so the next evaluation of the account (a rescore) resolves it as
 * rule_removed: create it right before use.
 */
export async function makeAlert(db: Kysely<Database>, accountId: number, reason = 'Score fell below 40') {
  const row = await db
    .insertInto('alerts')
    .values({
      account_id: accountId,
      rule_key: `web-test-${Math.random().toString(36).slice(2, 8)}`,
      rule_type: 'score_below',
      rule_set_version: 1,
      severity: 'critical',
      assignee: emailOf('retention'),
      assigned_via: 'manual',
      reasons: jsonb([reason]),
      metrics: jsonb({}),
      signature: jsonb({}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A browser-less client: keeps cookies, reads the CSRF token from the last page. */
export class Client {
  cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly base: string) {}

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string, headers: Record<string, string> = {}) {
    const res = await fetch(this.base + path, { headers: { cookie: this.cookieHeader(), ...headers }, redirect: 'manual' });
    this.keep(res);
    const text = await res.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1]!;
    return { status: res.status, text, headers: res.headers };
  }

  async post(path: string, form: Record<string, string>, options: { csrf?: string | null; headers?: Record<string, string> } = {}) {
    const body = new URLSearchParams(form);
    const token = options.csrf === undefined ? this.csrf : options.csrf;
    if (token !== null) body.set('_csrf', token);
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      body,
      redirect: 'manual',
    });
    this.keep(res);
    const text = await res.text();
    const next = /name="_csrf" value="([^"]+)"/.exec(text);
    if (next) this.csrf = next[1]!;
    return { status: res.status, text, headers: res.headers, location: res.headers.get('location') };
  }

  /** Signs in through the form; resolves with the redirect target. */
  async signIn(email: string, password = PASSWORD) {
    await this.get('/sign-in');
    const res = await this.post('/sign-in', { email, password });
    if (res.status === 303) await this.get(res.location!);
    return res;
  }
}
