import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { member } from './support.js';

/** Scopes, private destinations, and chat webhook URLs and signing secrets never shown. */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ allowPrivateWebhookUrls: false });
  await member(s.db, 'sec@example.com');
});
afterAll(() => s?.close());

describe('notifications API security', () => {
  it('needs a key, and the admin scope for channels, routes, delivery logs and replay', async () => {
    await expectProblem(await s.call('GET', '/v1/notifications/people', { key: null }), 401, 'unauthorized');
    const read = await s.keyWith('read');
    const write = await s.keyWith('read', 'write');
    await expectProblem(await s.call('PATCH', '/v1/notifications/people/sec@example.com', { key: read, body: { language: 'en' } }), 403, 'forbidden');
    expect((await s.call('PATCH', '/v1/notifications/people/sec@example.com', { key: write, body: { language: 'en' } })).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/v1/notifications/channels'],
      ['POST', '/v1/notifications/channels'],
      ['GET', '/v1/notifications/routes'],
      ['GET', '/v1/notifications/people/sec@example.com/deliveries'],
      ['POST', '/v1/notifications/deliveries/1/replay'],
    ] as const) {
      await expectProblem(await s.call(method, path, { key: write, body: method === 'POST' ? {} : undefined }), 403, 'forbidden');
    }
  });

  it('refuses chat URLs on this machine or a private network unless allowed', async () => {
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://169.254.169.254/latest', 'http://10.1.2.3/robot/send?access_token=x']) {
      const body = await expectProblem(await s.call('POST', '/v1/notifications/channels', { body: { name: `p-${url.length}`, kind: 'teams', url } }), 400, 'validation_failed');
      expect(body.errors?.map((e) => e.field)).toEqual(['body.url']);
    }
  });

  it('never shows a chat webhook URL or signing secret after it is set', async () => {
    const created = await s.call('POST', '/v1/notifications/channels', {
      body: { name: 'ding', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=TOKEN-abc', signingSecret: 'SECsecret-xyz' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    for (const path of ['/v1/notifications/channels', `/v1/notifications/channels/${id}`, '/openapi.json']) {
      const text = await (await s.call('GET', path)).text();
      expect(text).not.toContain('TOKEN-abc');
      expect(text).not.toContain('SECsecret-xyz');
    }
    const patched = await (await s.call('PATCH', `/v1/notifications/channels/${id}`, { body: { signingSecret: 'SECnew-123' } })).text();
    expect(patched).not.toContain('SECnew-123');
    expect(JSON.parse(patched)).toMatchObject({ host: 'oapi.dingtalk.com', signed: true });
  });
});
