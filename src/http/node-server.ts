import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { serve } from '@hono/node-server';
import { PROBLEMS, type ProblemCode, problemType } from './problem.js';

/** What Node's HTTP parser refused, in words a client can act on. */
const PARSER_DETAILS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'the request headers are larger than this server accepts',
  HPE_INVALID_HEADER_TOKEN: 'a header name or value contains a character HTTP does not allow',
  HPE_INVALID_URL: 'the request target is not a valid URL path (a space or a control character?)',
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is not a valid length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding were both sent',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is not valid',
  HPE_INVALID_CHUNK_SIZE: 'a chunk size of the chunked body is not valid',
  HPE_INVALID_METHOD: 'the request method is not valid',
  HPE_INVALID_VERSION: 'the HTTP version is not valid',
  ERR_HTTP_REQUEST_TIMEOUT: 'the request was not received in time',
};

const codeFor = (parserCode: string | undefined): ProblemCode =>
  parserCode === 'HPE_HEADER_OVERFLOW' ? 'header_fields_too_large' : parserCode === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'malformed_request';

/**
 * Requests Node's HTTP parser refuses never reach the app; answer them in the
 * same problem+json envelope instead of Node's bare `400 Bad Request`.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const code = codeFor(err.code);
    const { status, title } = PROBLEMS[code];
    const requestId = randomUUID();
    const body = JSON.stringify({
      type: problemType(code),
      title,
      status,
      code,
      detail: PARSER_DETAILS[err.code ?? ''] ?? 'the request could not be read as HTTP/1.1',
      requestId,
      ...(err.code ? { parserCode: err.code } : {}),
    });
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\n` +
        'content-type: application/problem+json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  });
}

/** The app on a Node HTTP server, with parser errors answered as problem+json. */
export function serveNode(
  options: { fetch: (request: Request) => Response | Promise<Response>; port: number; hostname: string },
  onListening?: (info: { port: number }) => void,
): Server {
  const server = serve(options, onListening) as Server;
  answerClientErrors(server);
  return server;
}
