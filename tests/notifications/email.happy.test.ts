import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createMailer } from '../../src/notifications/mailer.js';
import { savePreferences } from '../../src/notifications/preferences.js';
import { enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { account, alertOpened, attemptsOf, deliveriesOf, member, SmtpSink, until } from './support.js';

/**
 * Email through a real SMTP server in the test (smtp-server), each message
 * parsed back with mailparser, an implementation independent of nodemailer.
 */
let t: TestDatabase;
let smtp: SmtpSink;
let worker: OutboxWorker;

beforeAll(async () => {
  t = await createTestDatabase();
  smtp = await new SmtpSink().start();
  worker = new OutboxWorker({
    db: t.db,
    listen: t.listen,
    logger: createLogger('silent'),
    pollIntervalMs: 50,
    retryScheduleMs: [50, 50, 50],
    jitter: 0,
    notifications: { baseUrl: 'https://cs.example.com', sendMail: createMailer({ smtpUrl: smtp.url, from: 'healthscore <noreply@example.com>' }) },
  }).start();
});
afterAll(async () => {
  await worker?.stop();
  await smtp?.stop();
  await t?.close();
});

const noQuiet = { quietHours: null } as const;

describe('email', () => {
  it('sends an assigned alert to the assignee by default, with HTML and text parts in their language and a link to the account page', async () => {
    await member(t.db, 'rita@example.com', { name: 'Rita Retention', timezone: 'Europe/Berlin' });
    await member(t.db, 'li@example.com', { name: '李娜', timezone: 'Asia/Shanghai' });
    await savePreferences(t.db, 'rita@example.com', noQuiet);
    await savePreferences(t.db, 'li@example.com', { ...noQuiet, language: 'zh-CN', events: ['alert_assigned', 'alert_on_my_accounts'] });
    const acme = await account(t.db, { externalId: 'acme/eu 1', name: 'Acme & Söhne', owner: 'li@example.com' });
    await enqueueEvent(t.db, {
      type: 'churn_risk.opened',
      accountId: acme,
      payload: alertOpened(
        { externalId: 'acme/eu 1', name: 'Acme & Söhne', owner: 'li@example.com' },
        { id: 41, assignee: 'rita@example.com', severity: 'high', reasons: ['score dropped 20 points in 7 days (82 → 62): Latest NPS answer −25'] },
        28,
      ),
    });
    await until(() => smtp.mails.length >= 2, 15_000, 'two emails');

    const [rita] = smtp.to('rita@example.com');
    const m = rita!.parsed;
    expect(m.subject).toBe('Churn risk assigned to you: Acme & Söhne');
    expect(m.from?.value).toEqual([{ name: 'healthscore', address: 'noreply@example.com' }]);
    expect(m.messageId).toMatch(/^<msg_[0-9A-Z]{26}@healthscore>$/);
    expect(m.headers.get('content-language')).toBe('en');
    const link = 'https://cs.example.com/accounts/acme%2Feu%201';
    expect(m.text).toContain('Score: 28');
    expect(m.text).toContain('Band: red');
    expect(m.text).toContain('Severity: high');
    expect(m.text).toContain('- score dropped 20 points in 7 days (82 → 62): Latest NPS answer −25');
    expect(m.text).toContain(`Open the account: ${link}`);
    expect(m.html).toContain(`<a href="${link}"`);
    expect(m.html).toContain('Acme &amp; Söhne'); // escaped in HTML
    expect(m.html).toContain('<html lang="en">');

    // The owner hears of an alert on their account (they opted in), in Chinese.
    const [li] = smtp.to('li@example.com');
    expect(li!.parsed.subject).toBe('您负责的客户出现流失风险：Acme & Söhne');
    expect(li!.parsed.text).toContain('健康分: 28');
    expect(li!.parsed.text).toContain('等级: 红色');
    expect(li!.parsed.text).toContain('严重程度: 高');
    expect(li!.parsed.text).toContain(`查看客户: ${link}`);
    expect(li!.parsed.html).toContain('<html lang="zh-CN">');
    expect(li!.parsed.headers.get('content-language')).toBe('zh-CN');
  }, 30_000);

  it('holds a notification during the person’s quiet hours until they end', async () => {
    await member(t.db, 'night@example.com', { timezone: 'UTC' });
    const hour = new Date().getUTCHours();
    // Quiet from the current hour for two hours: the delivery waits until then.
    await savePreferences(t.db, 'night@example.com', { quietHours: { start: hour * 60, end: ((hour + 2) % 24) * 60 } });
    const a = await account(t.db, { externalId: 'quiet-1' });
    const before = Date.now();
    await enqueueEvent(t.db, {
      type: 'follow_up.due',
      accountId: a,
      payload: { followUpId: 5, account: { externalId: 'quiet-1', name: 'quiet-1' }, kind: 'call', title: 'Renewal call', assignee: 'night@example.com', dueAt: new Date().toISOString() },
    });
    const sub = await t.db.selectFrom('webhook_subscriptions').select('id').where('url', '=', 'mailto:night@example.com').executeTakeFirstOrThrow();
    const [delivery] = await deliveriesOf(t.db, sub.id);
    const endOfQuiet = new Date(before);
    endOfQuiet.setUTCHours(hour + 2, 0, 0, 0);
    expect(delivery!.next_attempt_at!.getTime()).toBe(endOfQuiet.getTime());
    expect(delivery!.status).toBe('pending');
    expect(smtp.to('night@example.com')).toEqual([]);
    // When the time comes (moved here rather than waited for), it goes out.
    await t.db.updateTable('webhook_deliveries').set({ next_attempt_at: new Date() }).where('id', '=', delivery!.id).execute();
    worker.wake();
    await until(() => smtp.to('night@example.com').length === 1, 15_000, 'the held email');
    expect(smtp.to('night@example.com')[0]!.parsed.subject).toBe('Follow-up due: Renewal call (quiet-1)');
  });

  it('retries when the SMTP server refuses a recipient for now, and logs the SMTP answer', async () => {
    await member(t.db, 'busy@example.com');
    await savePreferences(t.db, 'busy@example.com', noQuiet);
    let refusals = 0;
    smtp.reject = (to) => (to === 'busy@example.com' && refusals++ < 1 ? { code: 451, message: 'try again later' } : undefined);
    const a = await account(t.db, { externalId: 'busy-1', name: 'Busy Ltd' });
    await enqueueEvent(t.db, {
      type: 'follow_up.overdue',
      accountId: a,
      payload: { followUpId: 6, account: { externalId: 'busy-1', name: 'Busy Ltd' }, kind: 'visit', title: 'QBR visit', assignee: 'busy@example.com', dueAt: '2026-11-02T09:00:00.000Z' },
    });
    await until(() => smtp.to('busy@example.com').length === 1, 15_000, 'the email after a retry');
    const sub = await t.db.selectFrom('webhook_subscriptions').select('id').where('url', '=', 'mailto:busy@example.com').executeTakeFirstOrThrow();
    await until(async () => (await deliveriesOf(t.db, sub.id))[0]?.status === 'succeeded', 10_000, 'recorded');
    const [delivery] = await deliveriesOf(t.db, sub.id);
    const attempts = await attemptsOf(t.db, delivery!.id);
    expect(attempts.map((x) => [x.outcome, x.status_code])).toEqual([
      ['failed', 451],
      ['succeeded', 250],
    ]);
    expect(attempts[0]!.error).toContain('451');
    const mail = smtp.to('busy@example.com')[0]!.parsed;
    expect(mail.subject).toBe('Follow-up overdue: QBR visit (Busy Ltd)');
    expect(mail.text).toContain('Due: 2026-11-02 09:00 UTC');
    expect(mail.text).toContain('visit: QBR visit');
  }, 30_000);
});

describe('email to an address the mail server refuses', () => {
  it('is disabled on a permanent refusal (550), queues nothing more, and is re-enabled through the API', async () => {
    const { startTestServer } = await import('../support/server.js');
    const s = await startTestServer();
    const w = new OutboxWorker({
      db: s.db,
      listen: s.database.listen,
      logger: createLogger('silent'),
      pollIntervalMs: 50,
      retryScheduleMs: [50, 50, 50],
      jitter: 0,
      notifications: { baseUrl: 'https://cs.example.com', sendMail: createMailer({ smtpUrl: smtp.url, from: 'healthscore <noreply@example.com>' }) },
    }).start();
    try {
      await member(s.db, 'left@example.com');
      await savePreferences(s.db, 'left@example.com', noQuiet);
      let refusing = true;
      smtp.reject = (to) => (to === 'left@example.com' && refusing ? { code: 550, message: 'mailbox unavailable' } : undefined);
      const a = await account(s.db, { externalId: 'left-1' });
      const due = (n: number) => ({
        type: 'follow_up.due' as const,
        accountId: a,
        payload: { followUpId: n, account: { externalId: 'left-1', name: 'left-1' }, kind: 'call', title: `Call ${n}`, assignee: 'left@example.com', dueAt: new Date().toISOString() },
      });
      await enqueueEvent(s.db, due(1));
      const prefs = async () => (await (await s.call('GET', '/v1/notifications/people/left@example.com')).json()) as { emailStatus: { active: boolean; disabledReason: string | null } };
      await until(async () => (await prefs()).emailStatus.active === false, 10_000, 'email disabled');
      expect((await prefs()).emailStatus).toEqual({ active: false, disabledReason: 'the mail server refused the address permanently (550)' });
      const sub = await s.db.selectFrom('webhook_subscriptions').select('id').where('url', '=', 'mailto:left@example.com').executeTakeFirstOrThrow();
      const [first] = await deliveriesOf(s.db, sub.id);
      expect(first).toMatchObject({ status: 'failed', attempt: 1, last_status_code: 550 });
      // Disabled: a new event queues nothing for this address.
      await enqueueEvent(s.db, due(2));
      expect(await deliveriesOf(s.db, sub.id)).toHaveLength(1);

      refusing = false;
      const res = await s.call('PATCH', '/v1/notifications/people/left@example.com', { body: { emailActive: true } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { emailStatus: unknown }).emailStatus).toEqual({ active: true, disabledReason: null });
      const replay = await s.call('POST', `/v1/notifications/deliveries/${first!.id}/replay`);
      expect(replay.status).toBe(202);
      await until(() => smtp.to('left@example.com').length === 1, 10_000, 'the replayed email');
      expect(smtp.to('left@example.com')[0]!.parsed.subject).toBe('Follow-up due: Call 1 (left-1)');
    } finally {
      smtp.reject = () => undefined;
      await w.stop();
      await s.close();
    }
  }, 60_000);
});
