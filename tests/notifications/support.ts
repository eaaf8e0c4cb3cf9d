import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Kysely, sql } from 'kysely';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { jsonb } from '../../src/db/params.js';
import type { Database } from '../../src/db/schema.js';

type Db = Kysely<Database>;

/* ------------------------------------------------------------------ */
/* A chat tool's webhook endpoint                                      */
/* ------------------------------------------------------------------ */

export interface ChatRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: string;
  json: Record<string, unknown>;
  status: number;
  answer: string;
}

/**
 * A real HTTP receiver on 127.0.0.1 standing in for Slack, Teams, WeCom,
 * DingTalk and Feishu: records every request and answers what `respond`
 * says (200 and the vendor's success body by default).
 */
export class ChatReceiver {
  readonly requests: ChatRequest[] = [];
  respond: (r: Omit<ChatRequest, 'status' | 'answer'>) => { status: number; body: string } | Promise<{ status: number; body: string }> = (r) => ({
    status: 200,
    body: successBody(r.path),
  });
  private server: Server | undefined;
  port = 0;

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://x');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          // recorded as it came
        }
        const base = { path: url.pathname, query: url.searchParams, headers: req.headers, raw, json };
        const answer = await this.respond(base);
        this.requests.push({ ...base, status: answer.status, answer: answer.body });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop() {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  on(path: string) {
    return this.requests.filter((r) => r.path === path);
  }
}

/** What each vendor answers when it took the message. */
export function successBody(path: string): string {
  if (path.includes('feishu')) return JSON.stringify({ code: 0, msg: 'success', data: {} });
  if (path.includes('wecom') || path.includes('dingtalk')) return JSON.stringify({ errcode: 0, errmsg: 'ok' });
  return '1';
}

/* ------------------------------------------------------------------ */
/* An SMTP server                                                      */
/* ------------------------------------------------------------------ */

export interface ReceivedMail {
  envelopeTo: string[];
  raw: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP server (the smtp-server package) on 127.0.0.1; every message
 * is parsed back with mailparser, an implementation independent of the
 * sender's. `reject` makes it answer an address with a 4xx/5xx.
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  reject: (to: string) => { code: number; message: string } | undefined = () => undefined;
  /** Called with each message after it is recorded and before the server answers 250. */
  onMail: (mail: ReceivedMail) => void = () => {};
  private server: SMTPServer | undefined;
  port = 0;

  get url() {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<this> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (address, _session, callback) => {
        const refused = this.reject(address.address);
        if (refused) return callback(Object.assign(new Error(refused.message), { responseCode: refused.code }));
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const parsed = await simpleParser(raw);
          const mail = { envelopeTo: session.envelope.rcptTo.map((r) => r.address), raw, parsed };
          this.mails.push(mail);
          this.onMail(mail);
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
    return this;
  }

  async stop() {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  to(address: string) {
    return this.mails.filter((m) => m.envelopeTo.includes(address));
  }
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

export async function member(db: Db, email: string, fields: { name?: string; timezone?: string | null; workingDays?: number[] } = {}) {
  await db
    .insertInto('team_members')
    .values({
      email,
      name: fields.name ?? email.split('@')[0]!,
      timezone: fields.timezone ?? null,
      ...(fields.workingDays ? { working_days: sql<number[]>`${`{${fields.workingDays.join(',')}}`}::integer[]` } : {}),
    })
    .execute();
}

let counter = 0;
export async function account(
  db: Db,
  fields: { externalId?: string; name?: string; segment?: string | null; owner?: string | null; retentionOwner?: string | null; renewalDate?: string | null; timezone?: string | null } = {},
) {
  const externalId = fields.externalId ?? `n-${process.pid}-${++counter}`;
  const row = await db
    .insertInto('accounts')
    .values({
      external_id: externalId,
      name: fields.name ?? externalId,
      segment: fields.segment ?? null,
      owner: fields.owner ?? null,
      retention_owner: fields.retentionOwner ?? null,
      renewal_date: fields.renewalDate ?? null,
      timezone: fields.timezone ?? null,
      attributes: jsonb({}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** A churn_risk.opened payload as src/alerts builds one. */
export function alertOpened(a: { externalId: string; name: string; owner?: string | null }, alert: { id: number; assignee: string | null; severity: string; reasons: string[] }, score = 31, band = 'red') {
  return {
    account: { externalId: a.externalId, name: a.name, owner: a.owner ?? null, retentionOwner: null },
    score,
    band,
    explanation: [],
    attribution: null,
    alert: { id: alert.id, ruleKey: 'entered_red', severity: alert.severity, status: 'open', assignee: alert.assignee, reasons: alert.reasons, metrics: {} },
    change: { action: 'opened', actor: 'system', at: new Date().toISOString(), details: {} },
  };
}

export const deliveriesOf = (db: Db, subscriptionId: number) =>
  db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', subscriptionId).orderBy('id').execute();

export const attemptsOf = (db: Db, deliveryId: number) =>
  db.selectFrom('webhook_delivery_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('attempt').execute();
