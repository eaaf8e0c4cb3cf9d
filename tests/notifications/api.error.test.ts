import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { member } from './support.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  await member(s.db, 'ana@example.com');
  await member(s.db, 'ben@example.com');
});
afterAll(() => s?.close());

const fields = (body: { errors?: { field: string }[] }) => body.errors?.map((e) => e.field);

describe('notifications API errors', () => {
  it('404 for someone who is not a team member', async () => {
    await expectProblem(await s.call('GET', '/v1/notifications/people/nobody@example.com'), 404, 'not_found');
    await expectProblem(await s.call('PATCH', '/v1/notifications/people/nobody@example.com', { body: { language: 'en' } }), 404, 'not_found');
  });

  it('names the field of a bad preference', async () => {
    const bad = async (body: unknown, field: string) =>
      expect(fields(await expectProblem(await s.call('PATCH', '/v1/notifications/people/ana@example.com', { body }), 400, 'validation_failed'))).toContain(field);
    await bad({ timezone: 'Mars/Olympus' }, 'body.timezone');
    await bad({ language: 'fr' }, 'body.language');
    await bad({ events: ['everything'] }, 'body.events.0');
    await bad({ digestTime: '25:00' }, 'body.digestTime');
    await bad({ quietHours: { start: '22:00', end: '22:00' } }, 'body.quietHours');
    await bad({ digestDays: [0] }, 'body.digestDays.0');
    await bad({ colour: 'red' }, 'body');
    await expectProblem(await s.call('PATCH', '/v1/notifications/people/ana@example.com', { body: {} }), 400, 'validation_failed');
  });

  it('refuses channels without what their vendor needs, duplicate names, and routes that make no sense', async () => {
    const noSecret = await expectProblem(
      await s.call('POST', '/v1/notifications/channels', { body: { name: 'ding', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=x' } }),
      400,
      'validation_failed',
    );
    expect(fields(noSecret)).toEqual(['body.signingSecret']);
    expect(fields(await expectProblem(await s.call('POST', '/v1/notifications/channels', { body: { name: 'x', kind: 'teams', url: 'ftp://example.com/hook' } }), 400, 'validation_failed'))).toEqual(['body.url']);
    expect(fields(await expectProblem(await s.call('POST', '/v1/notifications/channels', { body: { name: 'x', kind: 'line', url: 'https://example.com/hook' } }), 400, 'validation_failed'))).toEqual(['body.kind']);

    const ok = await s.call('POST', '/v1/notifications/channels', { body: { name: 'wecom-1', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc' } });
    expect(ok.status).toBe(201);
    const channel = (await ok.json()) as { id: number };
    await expectProblem(await s.call('POST', '/v1/notifications/channels', { body: { name: 'wecom-1', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=def' } }), 409, 'conflict');

    await expectProblem(await s.call('POST', '/v1/notifications/channels/999999/routes', { body: { eventTypes: ['alert_opened'] } }), 404, 'not_found');
    expect(fields(await expectProblem(await s.call('POST', `/v1/notifications/channels/${channel.id}/routes`, { body: { eventTypes: [] } }), 400, 'validation_failed'))).toEqual(['body.eventTypes']);
    expect(fields(await expectProblem(await s.call('POST', `/v1/notifications/channels/${channel.id}/routes`, { body: { eventTypes: ['alert_opened'], severities: ['urgent'] } }), 400, 'validation_failed'))).toEqual(['body.severities.0']);

    const own = await s.call('POST', '/v1/notifications/channels', { body: { name: 'ben-own', kind: 'slack', url: 'https://hooks.slack.com/services/T/B/x', owner: 'ben@example.com' } });
    const ownChannel = (await own.json()) as { id: number };
    await expectProblem(await s.call('POST', `/v1/notifications/channels/${ownChannel.id}/routes`, { body: { eventTypes: ['alert_opened'] } }), 409, 'conflict');
    // Ana cannot pick Ben's own channel; she can pick the team channel.
    expect(fields(await expectProblem(await s.call('PATCH', '/v1/notifications/people/ana@example.com', { body: { channelId: ownChannel.id } }), 400, 'validation_failed'))).toEqual(['body.channelId']);
    expect((await s.call('PATCH', '/v1/notifications/people/ana@example.com', { body: { channelId: channel.id } })).status).toBe(200);
    expect(fields(await expectProblem(await s.call('POST', '/v1/notifications/channels', { body: { name: 'z', kind: 'slack', url: 'https://hooks.slack.com/services/T/B/y', owner: 'ghost@example.com' } }), 400, 'validation_failed'))).toEqual(['body.owner']);
  });

  it('404 and 409 for channel actions', async () => {
    await expectProblem(await s.call('GET', '/v1/notifications/channels/424242'), 404, 'not_found');
    await expectProblem(await s.call('DELETE', '/v1/notifications/channels/424242'), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/notifications/channels/424242/test'), 404, 'not_found');
    await expectProblem(await s.call('POST', '/v1/notifications/deliveries/424242/replay'), 404, 'not_found');
    await expectProblem(await s.call('DELETE', '/v1/notifications/routes/424242'), 404, 'not_found');
    const res = await s.call('POST', '/v1/notifications/channels', { body: { name: 'paused', kind: 'teams', url: 'https://example.com/teams' } });
    const { id } = (await res.json()) as { id: number };
    await s.call('PATCH', `/v1/notifications/channels/${id}`, { body: { active: false } });
    await expectProblem(await s.call('POST', `/v1/notifications/channels/${id}/test`), 409, 'conflict');
  });
});
