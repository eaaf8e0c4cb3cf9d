import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/** Defect 4 of #12: requests Node's HTTP parser refuses are answered as problem+json too. */

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

/** Sends raw bytes and resolves with everything the server wrote before it closed the connection. */
function raw(bytes: string | Buffer): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('end', () => resolve(received));
    socket.on('close', () => resolve(received));
    socket.on('error', (err) => (received ? resolve(received) : reject(err)));
    socket.write(bytes);
  });
}

function parse(response: string) {
  const [head, ...rest] = response.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head!.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

const cases: [string, string | Buffer, number, string][] = [
  ['a control byte in a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n', 400, 'malformed_request'],
  ['a space in the path', 'GET /v1/acc ounts HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed_request'],
  ['a bad Content-Length', 'POST /v1/accounts/batch HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'malformed_request'],
  ['Content-Length and Transfer-Encoding together', 'POST /v1/accounts/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'malformed_request'],
  ['headers larger than the server takes', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`, 431, 'header_fields_too_large'],
  ['not HTTP at all', 'HELLO\r\n\r\n', 400, 'malformed_request'],
];

describe('malformed HTTP gets a problem+json answer', () => {
  for (const [name, bytes, status, code] of cases) {
    it(name, async () => {
      const res = parse(await raw(bytes));
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      const problem = JSON.parse(res.body) as Record<string, unknown>;
      expect(problem).toMatchObject({ status, code, type: `/problems/${code.replaceAll('_', '-')}` });
      expect(typeof problem.detail).toBe('string');
      expect(problem.requestId).toBe(res.headers['x-request-id']);
    });
  }

  it('the server still answers well-formed requests afterwards', async () => {
    expect((await s.call('GET', '/healthz', { key: null })).status).toBe(200);
  });
});
