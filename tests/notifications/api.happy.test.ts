import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ChatReceiver, member, until } from './support.js';

/** The notifications API end to end: preferences, channels, routes, test messages, the delivery log, replay, disabling. */
let s: TestServer;
let chat: ChatReceiver;
let worker: OutboxWorker;

beforeAll(async () => {
  s = await startTestServer();
  chat = await new ChatReceiver().start();
  worker = new OutboxWorker({ db: s.db, listen: s.database.listen, logger: createLogger('silent'), pollIntervalMs: 50, notifications: { baseUrl: 'https://cs.example.com' } }).start();
});
afterAll(async () => {
  await worker?.stop();
  await chat?.stop();
  await s?.close();
});

const json = async (res: Response, status: number) => {
  const body = await res.text();
  expect(res.status, body).toBe(status);
  return body ? (JSON.parse(body) as Record<string, any>) : {};
};

describe('notifications API', () => {
  it('shows the defaults, saves preferences, and resets them', async () => {
    await member(s.db, 'mei@example.com', { name: 'Mei', timezone: 'Asia/Shanghai' });
    expect(await json(await s.call('GET', '/v1/notifications/people/MEI@example.com'), 200)).toEqual({
      email: 'mei@example.com',
      name: 'Mei',
      events: ['alert_assigned', 'follow_up_due', 'follow_up_overdue', 'daily_digest'],
      channelId: null,
      language: 'en',
      timezone: 'Asia/Shanghai',
      quietHours: { start: '21:00', end: '07:00' },
      digestTime: '08:00',
      digestDays: [1, 2, 3, 4, 5],
      saved: false,
      emailStatus: { active: true, disabledReason: null },
      updatedAt: null,
    });
    const saved = await json(
      await s.call('PATCH', '/v1/notifications/people/mei@example.com', {
        body: { language: 'zh-CN', events: ['alert_assigned', 'band_change', 'daily_digest'], quietHours: { start: '22:00', end: '06:30' }, digestTime: '07:45', digestDays: [1, 3, 5] },
      }),
      200,
    );
    expect(saved).toMatchObject({
      language: 'zh-CN',
      events: ['alert_assigned', 'band_change', 'daily_digest'],
      quietHours: { start: '22:00', end: '06:30' },
      digestTime: '07:45',
      digestDays: [1, 3, 5],
      timezone: 'Asia/Shanghai',
      saved: true,
    });
    // A second change keeps what it does not name.
    expect(await json(await s.call('PATCH', '/v1/notifications/people/mei@example.com', { body: { timezone: 'Europe/Berlin', quietHours: null } }), 200)).toMatchObject({
      language: 'zh-CN',
      timezone: 'Europe/Berlin',
      quietHours: null,
      digestTime: '07:45',
    });
    const list = await json(await s.call('GET', '/v1/notifications/people', { key: await s.keyWith('read') }), 200);
    expect(list.items.map((p: { email: string }) => p.email)).toContain('mei@example.com');
    expect(await json(await s.call('DELETE', '/v1/notifications/people/mei@example.com'), 200)).toMatchObject({ saved: false, language: 'en', timezone: 'Asia/Shanghai' });
  });

  it('manages a channel: only its host is shown, a test message arrives, the log and replay work, and the generic webhook API does not list it', async () => {
    const created = await json(
      await s.call('POST', '/v1/notifications/channels', {
        body: { name: 'retention-feishu', kind: 'feishu', url: `${chat.url}/feishu/open-apis/bot/v2/hook/secret-hook-id`, signingSecret: 'feishu-secret', language: 'zh-CN' },
      }),
      201,
    );
    expect(created).toMatchObject({ name: 'retention-feishu', kind: 'feishu', language: 'zh-CN', owner: null, host: `127.0.0.1:${chat.port}`, signed: true, active: true });
    expect(JSON.stringify(created)).not.toContain('secret-hook-id');
    expect(JSON.stringify(created)).not.toContain('feishu-secret');

    const test = await json(await s.call('POST', `/v1/notifications/channels/${created.id}/test`), 202);
    await until(() => chat.requests.length === 1, 10_000, 'the test message');
    expect(chat.requests[0]!.json).toMatchObject({ msg_type: 'interactive', card: { header: { title: { content: '来自 healthscore 的测试消息' } } } });
    expect(chat.requests[0]!.headers['webhook-id']).toBe(test.eventId);

    await until(async () => (await json(await s.call('GET', `/v1/notifications/channels/${created.id}/deliveries`), 200)).items[0]?.status === 'succeeded', 10_000, 'recorded');
    const log = await json(await s.call('GET', `/v1/notifications/channels/${created.id}/deliveries`), 200);
    expect(log.items).toHaveLength(1);
    expect(log.items[0]).toMatchObject({ id: test.deliveryId, eventType: 'notification.channel_test', status: 'succeeded', attemptCount: 1 });

    const replay = await json(await s.call('POST', `/v1/notifications/deliveries/${test.deliveryId}/replay`), 202);
    expect(replay).toMatchObject({ replayOf: test.deliveryId, eventId: test.eventId });
    await until(() => chat.requests.length === 2, 10_000, 'the replay');
    expect(chat.requests[1]!.headers['webhook-id']).toBe(test.eventId);

    const webhooks = await json(await s.call('GET', '/v1/webhooks/subscriptions'), 200);
    expect(webhooks.items).toEqual([]);
  });

  it('routes team channels, gives a person their own channel, and disables a channel that answers 410 Gone until it is re-enabled', async () => {
    await member(s.db, 'kai@example.com');
    const own = await json(await s.call('POST', '/v1/notifications/channels', { body: { name: 'kai-slack', kind: 'slack', url: `${chat.url}/gone`, owner: 'kai@example.com' } }), 201);
    expect(own.owner).toBe('kai@example.com');
    expect(await json(await s.call('PATCH', '/v1/notifications/people/kai@example.com', { body: { channelId: own.id } }), 200)).toMatchObject({ channelId: own.id });

    const team = await json(await s.call('POST', '/v1/notifications/channels', { body: { name: 'team-teams', kind: 'teams', url: `${chat.url}/teams` } }), 201);
    const route = await json(
      await s.call('POST', `/v1/notifications/channels/${team.id}/routes`, { body: { eventTypes: ['alert_opened'], segments: ['Enterprise'], severities: ['critical', 'high'] } }),
      201,
    );
    expect(route).toMatchObject({ channelId: team.id, eventTypes: ['alert_opened'], segments: ['enterprise'], severities: ['critical', 'high'] });
    expect((await json(await s.call('GET', '/v1/notifications/routes'), 200)).items).toHaveLength(1);
    await json(await s.call('DELETE', `/v1/notifications/routes/${route.id}`), 204);

    chat.respond = (r) => (r.path === '/gone' ? { status: 410, body: 'gone' } : { status: 200, body: '1' });
    await json(await s.call('POST', `/v1/notifications/channels/${own.id}/test`), 202);
    await until(async () => (await json(await s.call('GET', `/v1/notifications/channels/${own.id}`), 200)).active === false, 10_000, 'disabled');
    expect(await json(await s.call('GET', `/v1/notifications/channels/${own.id}`), 200)).toMatchObject({ active: false, disabledReason: 'the endpoint answered 410 Gone' });
    expect(await json(await s.call('PATCH', `/v1/notifications/channels/${own.id}`, { body: { active: true, url: `${chat.url}/back` } }), 200)).toMatchObject({ active: true, disabledReason: null });

    await json(await s.call('DELETE', `/v1/notifications/channels/${own.id}`), 204);
    // Kai gets email again.
    expect(await json(await s.call('GET', '/v1/notifications/people/kai@example.com'), 200)).toMatchObject({ channelId: null });
  });

  it('previews a digest in the person’s language', async () => {
    await member(s.db, 'lin@example.com', { timezone: 'Asia/Taipei' });
    await s.call('PATCH', '/v1/notifications/people/lin@example.com', { body: { language: 'zh-CN' } });
    const preview = await json(await s.call('GET', '/v1/notifications/people/lin@example.com/digest', { key: await s.keyWith('read') }), 200);
    expect(preview.subject).toMatch(/^您的 healthscore 每日摘要（\d{4}-\d\d-\d\d）$/);
    expect(preview.text).toContain('今天没有需要您处理的事项。');
    expect(preview.html).toContain('<html lang="zh-CN">');
  });
});
