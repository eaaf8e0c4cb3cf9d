import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliDatabase, type CliDatabase } from '../cli/cli-database.js';
import { member } from './support.js';

/** npm run cli -- notifications …, in real child processes. */
let c: CliDatabase;
beforeAll(async () => {
  c = await createCliDatabase();
  await c.query((db) => member(db, 'cli@example.com', { timezone: 'Asia/Shanghai' }));
});
afterAll(() => c?.close());

describe('npm run cli -- notifications', () => {
  it('manages preferences, channels and routes, never printing a URL or secret', async () => {
    const shown = await c.cli('notifications', 'prefs', 'cli@example.com');
    expect(shown.code, shown.output).toBe(0);
    expect(shown.output).toContain('cli@example.com\ten\tAsia/Shanghai\talert_assigned,follow_up_due,follow_up_overdue,daily_digest\temail\t21:00-07:00\tdigest 08:00 on 1,2,3,4,5\tdefaults');

    const added = await c.cli('notifications', 'channels', 'add', 'retention-ding', '--kind', 'dingtalk', '--url', 'https://oapi.dingtalk.com/robot/send?access_token=TOK', '--secret', 'SECabc', '--language', 'zh-CN');
    expect(added.code, added.output).toBe(0);
    const id = /created dingtalk channel (\d+)/.exec(added.output)![1]!;
    const channels = await c.cli('notifications', 'channels');
    expect(channels.output).toContain(`${id}\tretention-ding\tdingtalk\tzh-CN\t-\toapi.dingtalk.com\ttrue\tyes`);
    expect(channels.output + added.output).not.toContain('TOK');
    expect(channels.output + added.output).not.toContain('SECabc');

    const route = await c.cli('notifications', 'routes', 'add', id, '--events', 'alert_opened', '--segments', 'enterprise', '--severities', 'critical');
    expect(route.code, route.output).toBe(0);
    expect((await c.cli('notifications', 'routes')).output).toMatch(new RegExp(`\\d+\\t${id}\\talert_opened\\tenterprise\\tcritical`));

    const set = await c.cli('notifications', 'prefs', 'cli@example.com', '--language', 'zh-CN', '--quiet', '22:00-06:00', '--digest-time', '07:30', '--channel', id);
    expect(set.code, set.output).toBe(0);
    expect(set.output).toContain(`cli@example.com\tzh-CN\tAsia/Shanghai\talert_assigned,follow_up_due,follow_up_overdue,daily_digest\tchannel ${id}\t22:00-06:00\tdigest 07:30 on 1,2,3,4,5\tsaved`);

    const bad = await c.cli('notifications', 'prefs', 'cli@example.com', '--timezone', 'Mars/Base');
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('timezone: must be an IANA time zone');
    const noSecret = await c.cli('notifications', 'channels', 'add', 'feishu-x', '--kind', 'feishu', '--url', 'https://open.feishu.cn/open-apis/bot/v2/hook/x');
    expect(noSecret.code).toBe(2);

    const digests = await c.cli('notifications', 'digests');
    expect(digests.code, digests.output).toBe(0);
    expect(digests.output).toMatch(/^digests due \d+, made \d+/m);
    expect((await c.cli('notifications', 'channels', 'remove', id)).code).toBe(0);
  }); // fourteen CLI processes, each opening the embedded database: the suite's generous timeout

});
