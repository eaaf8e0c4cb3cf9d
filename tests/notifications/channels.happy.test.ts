import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, createRoute } from '../../src/notifications/channels.js';
import { enqueueEvent } from '../../src/webhooks/outbound/repository.js';
import { OutboxWorker } from '../../src/outbox/worker.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { account, alertOpened, attemptsOf, ChatReceiver, deliveriesOf, until } from './support.js';

/**
 * One real HTTP receiver per chat format. Each body is checked against the
 * vendor's published shape, and each signature is verified with the
 * vendor's algorithm implemented here, independently of src/notifications.
 */
let t: TestDatabase;
let chat: ChatReceiver;
let worker: OutboxWorker;
/** One receiver per chat format, each answering as its vendor does. */
const receivers = {} as Record<'slack' | 'teams' | 'wecom' | 'dingtalk' | 'feishu', ChatReceiver>;

const DINGTALK_SECRET = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd';
const FEISHU_SECRET = 'feishu-signing-secret-1234';

beforeAll(async () => {
  t = await createTestDatabase();
  chat = await new ChatReceiver().start();
  for (const kind of ['slack', 'teams', 'wecom', 'dingtalk', 'feishu'] as const) receivers[kind] = await new ChatReceiver().start();
  worker = new OutboxWorker({
    db: t.db,
    listen: t.listen,
    logger: createLogger('silent'),
    pollIntervalMs: 50,
    retryScheduleMs: [50, 50, 50, 50],
    jitter: 0,
    notifications: { baseUrl: 'https://app.example.com' },
  }).start();
});
afterAll(async () => {
  await worker?.stop();
  await chat?.stop();
  await Promise.all(Object.values(receivers).map((r) => r.stop()));
  await t?.close();
});

/** DingTalk's published algorithm: Base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)). */
function verifyDingtalk(query: URLSearchParams, secret: string): boolean {
  const timestamp = query.get('timestamp');
  const sign = query.get('sign'); // URLSearchParams has URL-decoded it
  if (!timestamp || !sign || !/^\d{13}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() - Number(timestamp)) > 3_600_000) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest();
  const given = Buffer.from(sign, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Feishu's published algorithm: Base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")). */
function verifyFeishu(body: Record<string, unknown>, secret: string): boolean {
  const timestamp = body.timestamp;
  const sign = body.sign;
  if (typeof timestamp !== 'string' || typeof sign !== 'string' || !/^\d{10}$/.test(timestamp)) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 3600) return false;
  const expected = createHmac('sha256', `${timestamp}\n${secret}`).update('').digest();
  const given = Buffer.from(sign, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('chat formats', () => {
  it('sends a churn alert to a team channel of each kind, in the shape and with the signature each vendor publishes', async () => {
    const channels = {
      slack: await createChannel(t.db, { name: 'cs-slack', kind: 'slack', url: `${receivers.slack.url}/slack/T000/B000/xyz` }),
      teams: await createChannel(t.db, { name: 'cs-teams', kind: 'teams', url: `${receivers.teams.url}/teams/workflows/abc` }),
      wecom: await createChannel(t.db, { name: 'cs-wecom', kind: 'wecom', language: 'zh-CN', url: `${receivers.wecom.url}/wecom/cgi-bin/webhook/send?key=k-123` }),
      dingtalk: await createChannel(t.db, {
        name: 'cs-dingtalk',
        kind: 'dingtalk',
        language: 'zh-CN',
        url: `${receivers.dingtalk.url}/dingtalk/robot/send?access_token=tok-456`,
        signingSecret: DINGTALK_SECRET,
      }),
      feishu: await createChannel(t.db, { name: 'cs-feishu', kind: 'feishu', language: 'zh-CN', url: `${receivers.feishu.url}/feishu/open-apis/bot/v2/hook/h-789`, signingSecret: FEISHU_SECRET }),
    };
    for (const c of Object.values(channels)) {
      if (typeof c === 'string') throw new Error(c);
      expect(await createRoute(t.db, c.id, { eventTypes: ['alert_opened'], segments: ['Enterprise'], severities: ['critical'] })).toMatchObject({ channelId: c.id });
    }
    const acme = await account(t.db, { externalId: 'acme-1', name: 'Acme GmbH', segment: 'enterprise' });
    const other = await account(t.db, { externalId: 'small-1', name: 'Small Co', segment: 'smb' });
    await t.db.transaction().execute(async (trx) => {
      await enqueueEvent(trx, {
        type: 'churn_risk.opened',
        accountId: acme,
        payload: alertOpened({ externalId: 'acme-1', name: 'Acme GmbH' }, { id: 7, assignee: null, severity: 'critical', reasons: ['renewal in 20 days and score 31 (below 50)'] }),
      });
      // Not routed: wrong segment; and a high one: wrong severity.
      await enqueueEvent(trx, {
        type: 'churn_risk.opened',
        accountId: other,
        payload: alertOpened({ externalId: 'small-1', name: 'Small Co' }, { id: 8, assignee: null, severity: 'critical', reasons: ['x'] }),
      });
      await enqueueEvent(trx, {
        type: 'churn_risk.opened',
        accountId: acme,
        payload: alertOpened({ externalId: 'acme-1', name: 'Acme GmbH' }, { id: 9, assignee: null, severity: 'high', reasons: ['y'] }),
      });
    });

    // The routes matched the critical enterprise alert only: one delivery per channel, written with the events.
    const deliveries = await Promise.all(Object.values(channels).map((c) => deliveriesOf(t.db, (c as { subscriptionId: number }).subscriptionId)));
    expect(deliveries.map((d) => d.length)).toEqual([1, 1, 1, 1, 1]);
    const all = () => Object.values(receivers).flatMap((r) => r.requests);
    await until(() => all().length >= 5, 15_000, 'one request per channel');
    expect(Object.values(receivers).map((r) => r.requests.length)).toEqual([1, 1, 1, 1, 1]);
    const link = 'https://app.example.com/accounts/acme-1';

    const [slack] = receivers.slack.requests;
    expect(slack!.json.text).toBe('Churn risk opened: Acme GmbH');
    expect(JSON.stringify(slack!.json.blocks)).toContain(`<${link}|Open the account>`);
    expect(JSON.stringify(slack!.json.blocks)).toContain('renewal in 20 days and score 31 (below 50)');

    const [teams] = receivers.teams.requests;
    expect(teams!.headers['content-type']).toBe('application/json');
    expect(teams!.json.type).toBe('message');
    const attachment = (teams!.json.attachments as Record<string, unknown>[])[0]!;
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = attachment.content as { type: string; version: string; body: { type: string; text?: string; facts?: { title: string; value: string }[] }[]; actions: { type: string; url: string }[] };
    expect(card.type).toBe('AdaptiveCard');
    expect(card.version).toBe('1.4');
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: 'Churn risk opened: Acme GmbH', color: 'Attention' });
    expect(card.body.find((b) => b.type === 'FactSet')!.facts).toEqual([
      { title: 'Score', value: '31' },
      { title: 'Band', value: 'red' },
      { title: 'Severity', value: 'critical' },
    ]);
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open the account', url: link }]);

    const [wecom] = receivers.wecom.requests;
    expect(wecom!.query.get('key')).toBe('k-123');
    expect(wecom!.json.msgtype).toBe('markdown');
    const wecomText = (wecom!.json.markdown as { content: string }).content;
    expect(wecomText).toContain('新的流失风险：Acme GmbH');
    expect(wecomText).toContain('**健康分**: 31');
    expect(wecomText).toContain('**等级**: 红色');
    expect(wecomText).toContain('**严重程度**: 严重');
    expect(wecomText).toContain(`[查看客户](${link})`);
    expect(Buffer.byteLength(wecomText)).toBeLessThanOrEqual(4096);

    const [dingtalk] = receivers.dingtalk.requests;
    expect(dingtalk!.query.get('access_token')).toBe('tok-456');
    expect(verifyDingtalk(dingtalk!.query, DINGTALK_SECRET)).toBe(true);
    expect(verifyDingtalk(dingtalk!.query, `${DINGTALK_SECRET}x`)).toBe(false);
    expect(dingtalk!.json.msgtype).toBe('markdown');
    const ding = dingtalk!.json.markdown as { title: string; text: string };
    expect(ding.title).toBe('新的流失风险：Acme GmbH');
    expect(ding.text).toContain('#### 新的流失风险：Acme GmbH');
    expect(ding.text).toContain(`[查看客户](${link})`);

    const [feishu] = receivers.feishu.requests;
    expect(verifyFeishu(feishu!.json, FEISHU_SECRET)).toBe(true);
    expect(verifyFeishu(feishu!.json, 'wrong')).toBe(false);
    expect(feishu!.json.msg_type).toBe('interactive');
    const fcard = feishu!.json.card as { header: { title: { content: string }; template: string }; elements: Record<string, unknown>[] };
    expect(fcard.header).toEqual({ title: { tag: 'plain_text', content: '新的流失风险：Acme GmbH' }, template: 'red' });
    expect(JSON.stringify(fcard.elements)).toContain('renewal in 20 days and score 31 (below 50)');
    expect(fcard.elements.at(-1)).toEqual({ tag: 'action', actions: [{ tag: 'button', text: { tag: 'plain_text', content: '查看客户' }, url: link, type: 'primary' }] });

    // The URL (a credential) and the secret are nowhere in the delivery log.
    const log = await t.db.selectFrom('webhook_delivery_attempts').select('error').execute();
    expect(JSON.stringify(log)).not.toContain('tok-456');
  }, 30_000);

  it('counts a vendor error answered with HTTP 200 as a failure and retries it (DingTalk, Feishu, WeCom)', async () => {
    const kinds = [
      { kind: 'dingtalk' as const, error: { errcode: 310000, errmsg: 'sign not match' }, signingSecret: DINGTALK_SECRET },
      { kind: 'feishu' as const, error: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' }, signingSecret: FEISHU_SECRET },
      { kind: 'wecom' as const, error: { errcode: 93000, errmsg: 'invalid webhook url' } },
    ];
    const answered = new Map<string, number>();
    chat.respond = (r) => {
      const n = (answered.get(r.path) ?? 0) + 1;
      answered.set(r.path, n);
      const k = kinds.find((x) => r.path.startsWith(`/retry-${x.kind}`));
      if (k && n <= 2) return { status: 200, body: JSON.stringify(k.error) };
      return { status: 200, body: JSON.stringify(k?.kind === 'feishu' ? { code: 0, msg: 'success' } : { errcode: 0, errmsg: 'ok' }) };
    };
    const subs: number[] = [];
    for (const k of kinds) {
      const c = await createChannel(t.db, { name: `retry-${k.kind}`, kind: k.kind, url: `${chat.url}/retry-${k.kind}/hook`, signingSecret: k.signingSecret ?? null });
      if (typeof c === 'string') throw new Error(c);
      await createRoute(t.db, c.id, { eventTypes: ['band_change'] });
      subs.push(c.subscriptionId);
    }
    const acme = await account(t.db, { externalId: 'acme-2', name: 'Acme Two' });
    await enqueueEvent(t.db, {
      type: 'health.band_changed',
      accountId: acme,
      payload: { account: { externalId: 'acme-2', name: 'Acme Two' }, score: 55, band: 'yellow', previousBand: 'green' },
    });
    await until(async () => {
      const rows = await Promise.all(subs.map((s) => deliveriesOf(t.db, s)));
      return rows.every((r) => r.length === 1 && r[0]!.status === 'succeeded');
    }, 20_000, 'every delivery succeeded after the vendor errors');
    for (const [i, k] of kinds.entries()) {
      const [delivery] = await deliveriesOf(t.db, subs[i]!);
      expect(delivery!.attempt).toBe(3);
      const attempts = await attemptsOf(t.db, delivery!.id);
      expect(attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded']);
      expect(attempts[0]!.status_code).toBe(200);
      expect(attempts[0]!.error).toContain(`${k.kind} error ${'errcode' in k.error ? k.error.errcode : k.error.code}`);
      expect(answered.get(`/retry-${k.kind}/hook`)).toBe(3);
    }
  }, 30_000);
});
