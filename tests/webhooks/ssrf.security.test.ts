import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../src/outbox/destinations.js';
import { pinnedFetch } from '../../src/outbox/node-destinations.js';
import { expectProblem } from '../support/problem.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Defect 5 of #12: IPv4-compatible IPv6 and DNS rebinding. */

let strict: TestServer;
let inside: Server;
let insidePort: number;
let hits = 0;

beforeAll(async () => {
  strict = await startTestServer({ allowPrivateWebhookUrls: false });
  // A service on this machine that a webhook must never reach.
  inside = createServer((_req, res) => {
    hits += 1;
    res.end('internal secrets');
  });
  await new Promise<void>((resolve) => inside.listen(0, '127.0.0.1', () => resolve()));
  insidePort = (inside.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => inside.close(() => resolve()));
  await strict.close();
});

describe('IPv4-compatible IPv6 addresses', () => {
  it('are not public', () => {
    expect(isPublicAddress('::127.0.0.1')).toBe(false);
    expect(isPublicAddress('::7f00:1')).toBe(false);
    expect(isPublicAddress('::10.0.0.1')).toBe(false);
    expect(isPublicAddress('::ffff:127.0.0.1')).toBe(false);
    expect(isPublicAddress('2606:2800:220:1::1')).toBe(true);
  });

  it('a subscription to http://[::127.0.0.1]/ is refused', async () => {
    const res = await strict.call('POST', '/v1/webhooks/subscriptions', { body: { url: 'http://[::127.0.0.1]/', eventTypes: ['follow_up.due'] } });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors![0]!.field).toBe('body.url');
  });
});

describe('the connection goes to the address that was checked', () => {
  it('a rebinding resolver (public first, then 127.0.0.1) never gets the request to this machine', async () => {
    const answers: string[][] = [];
    let calls = 0;
    const rebinding = async () => {
      calls += 1;
      const answer = calls === 1 ? ['1.2.3.4'] : ['127.0.0.1'];
      answers.push(answer);
      return answer;
    };
    // The pinned connection goes to 1.2.3.4 (and fails or times out here); it must not go to 127.0.0.1.
    const doFetch = pinnedFetch({ resolve: rebinding, allowPrivate: false, connectTimeoutMs: 1_000 });
    await expect(doFetch(`http://rebind.example.com:${insidePort}/hook`, { method: 'POST', body: '{}' })).rejects.toThrow();
    expect(hits).toBe(0);
    expect(calls).toBe(1);
  });

  it('a name that resolves to 127.0.0.1 is refused at connect time with the reason', async () => {
    const doFetch = pinnedFetch({ resolve: async () => ['127.0.0.1'], allowPrivate: false });
    const err = await doFetch(`http://inside.example.com:${insidePort}/hook`, { method: 'POST', body: '{}' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message)).toMatch(/127\.0\.0\.1, which is not a public address/);
    expect(hits).toBe(0);
  });

  it('with private addresses allowed, the pinned fetch connects to the resolved address', async () => {
    const doFetch = pinnedFetch({ resolve: async () => ['127.0.0.1'], allowPrivate: true });
    const res = await doFetch(`http://inside.example.com:${insidePort}/hook`, { method: 'POST', body: '{}' });
    expect(await res.text()).toBe('internal secrets');
    expect(hits).toBe(1);
  });
});
