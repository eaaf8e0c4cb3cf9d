import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, createRoute } from '../../src/notifications/channels.js';
import { savePreferences } from '../../src/notifications/preferences.js';
import { enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { createTestDatabase, onServer, type TestDatabase } from '../support/db.js';
import { freePort, type Spawned, spawnTs, waitFor } from '../support/process.js';
import { account, ChatReceiver, member, SmtpSink } from './support.js';

/**
 * SIGKILL while notifications are in flight: band changes notify their
 * owners by email and a signed DingTalk team channel; the service process is
 * killed from inside the receivers while they hold a request (the chat
 * message or the email got there, the sender never learns). Nothing is
 * lost, and only what was in flight arrives twice. Server only.
 */
let t: TestDatabase;
let chat: ChatReceiver;
let smtp: SmtpSink;
const services: Spawned[] = [];
const SECRET = 'SECcrash0123456789';

beforeAll(async () => {
  if (!onServer()) return;
  t = await createTestDatabase();
  chat = await new ChatReceiver().start();
  smtp = await new SmtpSink().start();
});
afterAll(async () => {
  for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  await Promise.all(services.map((s) => s.exited));
  await chat?.stop();
  await smtp?.stop();
  await t?.close();
});

async function startService(): Promise<Spawned> {
  const port = await freePort();
  const service = spawnTs('src/node.ts', [], {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: t.url!,
    LOG_LEVEL: 'warn',
    JOBS_ENABLED: 'false',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    SMTP_URL: smtp.url,
    WEB_APP_URL: 'https://cs.example.com',
    OUTBOX_CONCURRENCY: '1',
    OUTBOX_POLL_INTERVAL_MS: '100',
    OUTBOX_LEASE_MS: '1500',
    WEBHOOK_RETRY_SCHEDULE_MS: Array.from({ length: 40 }, () => '250').join(','),
  });
  services.push(service);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000, 'service start');
  return service;
}

const signed = (query: URLSearchParams) => {
  const ts = query.get('timestamp') ?? '';
  const expected = createHmac('sha256', SECRET).update(`${ts}\n${SECRET}`).digest();
  const given = Buffer.from(query.get('sign') ?? '', 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
};

describe.runIf(onServer())('notifications across a crash', () => {
  it('SIGKILL with notifications in flight loses none and repeats only those in flight', async () => {
    const owners = ['a@crash.example', 'b@crash.example', 'c@crash.example'];
    for (const o of owners) {
      await member(t.db, o, { timezone: 'Asia/Shanghai' });
      await savePreferences(t.db, o, { events: ['band_change'], quietHours: null, language: 'zh-CN' });
    }
    const channel = await createChannel(t.db, { name: 'retention-dingtalk', kind: 'dingtalk', language: 'zh-CN', url: `${chat.url}/robot/send?access_token=t1`, signingSecret: SECRET });
    if (typeof channel === 'string') throw new Error(channel);
    await createRoute(t.db, channel.id, { eventTypes: ['band_change'] });

    let service = await startService();
    let kills = 0;
    const inFlightAtKill = new Set<string>();
    const kill = (id: string) => {
      kills++;
      inFlightAtKill.add(id);
      service.child.kill('SIGKILL');
    };
    const chatKills = new Set([8, 30]);
    chat.respond = (r) => {
      const n = chat.requests.length + 1;
      if (chatKills.delete(n)) kill(String(r.headers['webhook-id']));
      return { status: 200, body: JSON.stringify({ errcode: 0, errmsg: 'ok' }) };
    };
    const mailKills = new Set([15]);
    smtp.onMail = (m) => {
      if (mailKills.delete(smtp.mails.length)) kill(m.parsed.messageId!.replace(/^<|@healthscore>$/g, ''));
    };

    const EVENTS = 30;
    for (let i = 0; i < EVENTS; i += 5) {
      await t.db.transaction().execute(async (trx) => {
        for (let k = i; k < i + 5; k++) {
          const owner = owners[k % owners.length]!;
          const id = await account(trx as never, { externalId: `crash-${k}`, name: `Crash ${k}`, owner });
          await enqueueEvent(trx, {
            type: 'health.band_changed',
            accountId: id,
            payload: { account: { externalId: `crash-${k}`, name: `Crash ${k}`, owner }, score: 30 + k, band: 'red', previousBand: 'yellow' },
          });
        }
      });
    }
    // Each band change: one email to its owner, one message to the team channel.
    const expected = await t.db.selectFrom('webhook_deliveries').select(['event_id']).execute();
    expect(expected).toHaveLength(2 * EVENTS);

    for (let restarts = 0; restarts < 3; ) {
      await waitFor(async () => kills > restarts || (smtp.mails.length >= EVENTS && chat.requests.length >= EVENTS), 90_000, 'a kill or the end');
      if (kills > restarts) {
        await service.exited;
        restarts++;
        service = await startService();
      } else break;
    }
    await waitFor(
      async () => (await t.db.selectFrom('webhook_deliveries').select('id').where('status', '!=', 'succeeded').execute()).length === 0,
      90_000,
      'every delivery succeeded',
    );
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(kills).toBe(3);

    // Every notification arrived; per event id, more than once only if it was in flight at a kill.
    const chatIds = chat.requests.map((r) => String(r.headers['webhook-id']));
    const mailIds = smtp.mails.map((m) => m.parsed.messageId!.replace(/^<|@healthscore>$/g, ''));
    const all = [...chatIds, ...mailIds];
    const counts = new Map<string, number>();
    for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(new Set(expected.map((e) => e.event_id))).toEqual(new Set(counts.keys()));
    const repeated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    expect(repeated.length).toBeLessThanOrEqual(kills);
    for (const id of repeated) expect(inFlightAtKill).toContain(id);
    expect(all.length - counts.size).toBeLessThanOrEqual(kills);
    // And each was the real thing: signed chat messages, emails to the owners in Chinese.
    expect(chat.requests.every((r) => signed(r.query))).toBe(true);
    for (const m of smtp.mails) expect(m.parsed.subject).toMatch(/^Crash \d+ 的健康等级由黄色变为红色$/);
    const abandoned = await t.db.selectFrom('webhook_delivery_attempts').select('delivery_id').where('outcome', '=', 'abandoned').execute();
    expect(abandoned.length).toBeGreaterThanOrEqual(kills);
  }, 300_000);
});
