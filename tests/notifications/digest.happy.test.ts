import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonb } from '../../src/db/params.js';
import { createLogger } from '../../src/logger.js';
import { sendDigests } from '../../src/notifications/digest.js';
import { createMailer } from '../../src/notifications/mailer.js';
import { savePreferences } from '../../src/notifications/preferences.js';
import { clockText, localClock } from '../../src/notifications/time.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { addSnapshot, setScore } from '../alerts/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { account, member, SmtpSink, until } from './support.js';

/**
 * Daily digests: who gets one when (time zones, digest days, quiet hours),
 * exactly once per person and local date, and what it says, in English and
 * Chinese, read back from a real SMTP server with mailparser.
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
    notifications: { baseUrl: 'https://cs.example.com', sendMail: createMailer({ smtpUrl: smtp.url, from: 'healthscore <noreply@example.com>' }) },
  }).start();
});
afterAll(async () => {
  await worker?.stop();
  await smtp?.stop();
  await t?.close();
});

const digestRows = () => t.db.selectFrom('notification_digests').select(['member_email', 'local_date', 'event_id']).orderBy('member_email').orderBy('local_date').execute();

async function deliveryOf(eventId: string) {
  return t.db.selectFrom('webhook_deliveries').select(['next_attempt_at', 'status']).where('event_id', '=', eventId).executeTakeFirstOrThrow();
}

describe('daily digest timing', () => {
  it('goes out at 08:00 local time on working days, per time zone, once per local date; quiet hours hold it', async () => {
    await member(t.db, 'wang@tz.example', { timezone: 'Asia/Shanghai' }); // +08:00
    await member(t.db, 'emma@tz.example', { timezone: 'America/New_York' }); // −05:00 in December
    await member(t.db, 'raj@tz.example', { timezone: 'Asia/Kolkata' }); // +05:30
    await member(t.db, 'kiri@tz.example', { timezone: 'Pacific/Auckland' }); // +13:00 in December
    await member(t.db, 'utc@tz.example'); // no zone: UTC
    await savePreferences(t.db, 'raj@tz.example', { quietHours: { start: 7 * 60, end: 9 * 60 } });
    await savePreferences(t.db, 'kiri@tz.example', { digestDays: [6, 7] }); // weekends only
    await savePreferences(t.db, 'utc@tz.example', { events: ['alert_assigned'] }); // no digest

    // A December far ahead: the outbox never schedules a delivery in the past,
    // so a hold is only visible while its end is still ahead of the real clock.
    const run = async (iso: string) => {
      const counts = await sendDigests(t.db, { now: new Date(iso) });
      return { ...counts, rows: (await digestRows()).filter((r) => r.member_email.endsWith('@tz.example')).map((r) => `${r.member_email} ${r.local_date}`) };
    };

    // Tuesday 1 December 2048, 07:59 in Shanghai: nobody yet. (New York: Monday 18:59, past its 6-hour window.)
    expect(await run('2048-11-30T23:59:00Z')).toMatchObject({ sent: 0, rows: [] });
    // 08:00 in Shanghai.
    expect(await run('2048-12-01T00:00:00Z')).toMatchObject({ sent: 1, held: 0, rows: ['wang@tz.example 2048-12-01'] });
    // Again a few minutes later (another replica, the next occurrence): nothing more.
    expect(await run('2048-12-01T00:15:00Z')).toMatchObject({ sent: 0 });
    // 08:00 in Kolkata falls in Raj's quiet hours (07:00–09:00): made now, held until 09:00 local.
    const kolkata = await run('2048-12-01T02:30:00Z');
    expect(kolkata).toMatchObject({ sent: 1, held: 1 });
    const raj = (await digestRows()).find((r) => r.member_email === 'raj@tz.example')!;
    expect(raj.local_date).toBe('2048-12-01');
    const held = await deliveryOf(raj.event_id!);
    expect(held.next_attempt_at!.toISOString()).toBe('2048-12-01T03:30:00.000Z');
    expect(held.status).toBe('pending');
    // 08:00 in New York.
    expect(await run('2048-12-01T13:00:00Z')).toMatchObject({ sent: 1, rows: expect.arrayContaining(['emma@tz.example 2048-12-01']) });
    // Wednesday 08:00 in Shanghai: the next day's digest.
    expect(await run('2048-12-02T00:00:00Z')).toMatchObject({ sent: 1, rows: expect.arrayContaining(['wang@tz.example 2048-12-02']) });
    // 08:00 Saturday in Auckland is Kiri's digest day; Saturday 08:00 in Shanghai is no working day of Wang's.
    expect(await run('2048-12-04T19:00:00Z')).toMatchObject({ sent: 1, rows: expect.arrayContaining(['kiri@tz.example 2048-12-05']) });
    expect(await run('2048-12-05T00:00:00Z')).toMatchObject({ sent: 0 });

    const all = (await digestRows()).filter((r) => r.member_email.endsWith('@tz.example')).map((r) => `${r.member_email} ${r.local_date}`);
    expect(all).toEqual([
      'emma@tz.example 2048-12-01',
      'kiri@tz.example 2048-12-05',
      'raj@tz.example 2048-12-01',
      'wang@tz.example 2048-12-01',
      'wang@tz.example 2048-12-02',
    ]);
  });

  it('three runs at once make one digest per person', async () => {
    for (let i = 0; i < 8; i++) await member(t.db, `p${i}@race.example`, { timezone: 'Europe/Berlin', workingDays: [1, 2, 3, 4, 5, 6, 7] });
    const now = new Date('2026-12-03T07:30:00Z'); // 08:30 in Berlin
    const before = (await digestRows()).length;
    const results = await Promise.all([sendDigests(t.db, { now }), sendDigests(t.db, { now }), sendDigests(t.db, { now })]);
    // Everyone due (the eight here, and anyone else of this file due then) got exactly one.
    expect(results.reduce((sum, r) => sum + r.sent, 0)).toBe((await digestRows()).length - before);
    const rows = (await digestRows()).filter((r) => r.member_email.endsWith('@race.example'));
    expect(rows).toHaveLength(8);
    const events = await t.db.selectFrom('webhook_events').select('id').where('id', 'in', rows.map((r) => r.event_id!)).execute();
    expect(events).toHaveLength(8);
  });
});

describe('daily digest content', () => {
  it('lists red and newly yellow accounts with what moved them, open alerts by severity, follow-ups today and overdue, renewals within 30 days, in each language', async () => {
    const now = new Date();
    const people = [
      { email: 'zhang@content.example', timezone: 'Asia/Shanghai', language: 'zh-CN' as const },
      { email: 'anna@content.example', timezone: 'America/Los_Angeles', language: 'en' as const },
    ];
    const DAY = 86_400_000;
    for (const p of people) {
      await member(t.db, p.email, { name: p.email.split('@')[0], timezone: p.timezone });
      const clock = localClock(now, p.timezone);
      await savePreferences(t.db, p.email, {
        language: p.language,
        quietHours: null,
        digestMinute: Math.max(0, clock.minute - 1),
        digestDays: [1, 2, 3, 4, 5, 6, 7],
      });
      const tag = p.email.split('@')[0]!;
      // Red, with a week-old snapshot: usage and NPS moved it.
      const red = await account(t.db, { externalId: `${tag}-red`, name: `${tag} Red Corp`, owner: p.email });
      await addSnapshot(t.db, red, 8, 80, { usage_change: [0, 90], nps: [9, 95] });
      await setScore(t.db, red, 22, 'red', { usage_change: [-60, 5], nps: [2, 10] });
      // Newly yellow (its band changed just now) and a green one (not listed).
      const yellow = await account(t.db, { externalId: `${tag}-yellow`, name: `${tag} Yellow Inc`, retentionOwner: p.email });
      await setScore(t.db, yellow, 55, 'yellow', { nps: [6, 45] });
      const green = await account(t.db, { externalId: `${tag}-green`, name: `${tag} Green plc`, owner: p.email });
      await setScore(t.db, green, 90, 'green');
      // Alerts: one critical, two high open; a resolved one is left out.
      const alert = (accountId: number, severity: string, status: string, reason: string) =>
        t.db
          .insertInto('alerts')
          .values({
            account_id: accountId,
            rule_key: `${severity}-${status}-${Math.random().toString(36).slice(2, 8)}`,
            rule_type: 'entered_red',
            rule_set_version: 1,
            severity: severity as 'high',
            status: status as 'open',
            assignee: p.email,
            reasons: jsonb([reason]),
            metrics: jsonb({}),
            signature: jsonb({}),
            ...(status === 'snoozed' ? { snoozed_until: new Date(now.getTime() + DAY) } : {}),
            ...(status === 'resolved' ? { resolved_at: now, resolution: 'manual' } : {}),
          } as never)
          .execute();
      await alert(red, 'high', 'open', 'score entered the red band (22)');
      await alert(red, 'critical', 'acknowledged', 'renewal in 20 days and score 22 (below 50)');
      await alert(yellow, 'high', 'snoozed', 'usage dropped 60% week over week');
      await alert(yellow, 'low', 'resolved', 'old news');
      // Follow-ups: overdue (yesterday), today (in an hour, still today locally unless it is late: then it is clamped), tomorrow (not listed), done (not listed).
      const laterToday = new Date(Math.min(now.getTime() + 3_600_000, now.getTime() + (1439 - clock.minute) * 60_000 - 1000));
      const fu = (anchor: string, dueAt: Date, status = 'scheduled', title = anchor) =>
        t.db
          .insertInto('follow_ups')
          .values({
            account_id: red,
            playbook_key: 'test',
            playbook_version: 1,
            anchor,
            kind: 'call',
            title,
            reason: 'because',
            cause_type: 'periodic',
            cause_ref: anchor,
            assignee: p.email,
            timezone: p.timezone,
            due_at: dueAt,
            status: status as 'scheduled',
            ...(status === 'done' ? { completed_at: now, outcome: 'resolved' } : {}),
          } as never)
          .execute();
      await fu(`${tag}-overdue`, new Date(now.getTime() - 1.5 * DAY), 'scheduled', `${tag} overdue call`);
      await fu(`${tag}-today`, laterToday, 'scheduled', `${tag} call today`);
      await fu(`${tag}-tomorrow`, new Date(now.getTime() + 2 * DAY), 'scheduled', `${tag} call later`);
      await fu(`${tag}-done`, new Date(now.getTime() - 2 * DAY), 'done', `${tag} done call`);
      // Renewals: in 10 days (listed), in 45 days (not).
      const inDays = (n: number) => new Date(Date.parse(`${clock.date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);
      await t.db.updateTable('accounts').set({ renewal_date: inDays(10) }).where('id', '=', green).execute();
      await t.db.updateTable('accounts').set({ renewal_date: inDays(45) }).where('id', '=', yellow).execute();
    }

    const counts = await sendDigests(t.db, { now });
    expect(counts.sent).toBeGreaterThanOrEqual(2);
    await until(() => people.every((p) => smtp.to(p.email).length === 1), 15_000, 'both digests');

    const zh = smtp.to('zhang@content.example')[0]!.parsed;
    const zhDate = localClock(now, 'Asia/Shanghai').date;
    expect(zh.subject).toBe(`您的 healthscore 每日摘要（${zhDate}）`);
    const zt = zh.text!;
    expect(zt).toContain('红色客户 1 个，未处理预警 3 条，跟进 2 项，续约 1 个');
    expect(zt).toMatch(/红色客户\n- zhang Red Corp，健康分 22：(Usage vs own baseline|Latest NPS answer) −\d+；(Usage vs own baseline|Latest NPS answer) −\d+ <https:\/\/cs\.example\.com\/accounts\/zhang-red>/);
    expect(zt).toContain('新转为黄色的客户\n- zhang Yellow Inc，健康分 55');
    expect(zt).toContain('未处理的预警（1 严重，2 高）\n- [严重] zhang Red Corp: renewal in 20 days and score 22 (below 50)');
    expect(zt).toContain('- [高] zhang Red Corp: score entered the red band (22)');
    expect(zt).toContain('- [高] zhang Yellow Inc: usage dropped 60% week over week');
    expect(zt).not.toContain('old news');
    expect(zt).toMatch(/逾期跟进\n- zhang overdue call（zhang Red Corp），\d{4}-\d\d-\d\d \d\d:\d\d Asia\/Shanghai/);
    expect(zt).toMatch(/今日跟进\n- zhang call today（zhang Red Corp），/);
    expect(zt).not.toContain('call later');
    expect(zt).not.toContain('done call');
    expect(zt).toMatch(/30 天内续约\n- zhang Green plc：\d{4}-\d\d-\d\d 续约（10 天后）/);
    expect(zt).not.toContain('Green plc，健康分');
    expect(zh.html).toContain('<h2 style="font-size:16px;margin:16px 0 6px">红色客户</h2>');
    expect(zh.html).toContain('href="https://cs.example.com/accounts/zhang-red"');

    const en = smtp.to('anna@content.example')[0]!.parsed;
    expect(en.subject).toBe(`Your healthscore digest for ${localClock(now, 'America/Los_Angeles').date}`);
    const et = en.text!;
    expect(et).toContain('1 red account, 3 open alerts, 2 follow-ups, 1 renewal');
    expect(et).toMatch(/Red accounts\n- anna Red Corp, score 22: (Usage vs own baseline|Latest NPS answer) −\d+; /);
    expect(et).toContain('Newly yellow accounts\n- anna Yellow Inc, score 55');
    expect(et).toContain('Open alerts (1 critical, 2 high)\n- [critical] anna Red Corp: renewal in 20 days and score 22 (below 50)');
    expect(et).toMatch(/Overdue follow-ups\n- anna overdue call \(anna Red Corp\), \d{4}-\d\d-\d\d \d\d:\d\d America\/Los_Angeles/);
    expect(et).toMatch(/Follow-ups today\n- anna call today \(anna Red Corp\), /);
    expect(et).toMatch(/Renewals within 30 days\n- anna Green plc: renews \d{4}-\d\d-\d\d \(in 10 days\)/);
    expect(et).toContain('Open healthscore: https://cs.example.com');
    expect(en.html).toContain('<html lang="en">');
  }, 30_000);

  it('says so when nothing needs the person', async () => {
    await member(t.db, 'calm@content.example', { timezone: 'UTC' });
    const now = new Date();
    await savePreferences(t.db, 'calm@content.example', { language: 'zh-CN', quietHours: null, digestMinute: Math.max(0, localClock(now, 'UTC').minute - 1), digestDays: [1, 2, 3, 4, 5, 6, 7] });
    await sendDigests(t.db, { now });
    await until(() => smtp.to('calm@content.example').length === 1, 15_000, 'the digest');
    expect(smtp.to('calm@content.example')[0]!.parsed.text).toContain('今天没有需要您处理的事项。');
    expect(clockText(0)).toBe('00:00');
  }, 30_000);
});
