import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  webhookId: string;
  timestamp: string;
  signature: string;
  body: string;
  /** What `Webhook.verify` returned: the parsed body. */
  json: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  /** The status this receiver answered. */
  status: number;
  at: number;
}

export interface Rejected {
  path: string;
  reason: string;
  headers: IncomingMessage['headers'];
}

/**
 * A real webhook receiver on a local port: it verifies every delivery with
 * the `standardwebhooks` library as a receiving application would, answers
 * 401 when that fails, and otherwise what `respond` says (200 by default).
 */
export class Receiver {
  readonly received: Received[] = [];
  readonly rejected: Rejected[] = [];
  /** Secrets by path ('/' and the like); `secret` is used for paths without one. */
  secret: string | undefined;
  readonly secrets = new Map<string, string>();
  respond: (r: Omit<Received, 'status'>) => number | Promise<number> = () => 200;
  /** Delay before answering, ms. */
  delayMs = 0;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Closes the port and drops open connections: the receiver is down. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Deliveries accepted (2xx) per webhook-id. */
  acceptedById(): Map<string, Received[]> {
    const map = new Map<string, Received[]>();
    for (const r of this.received) {
      if (r.status < 200 || r.status >= 300) continue;
      map.set(r.webhookId, [...(map.get(r.webhookId) ?? []), r]);
    }
    return map;
  }

  async waitFor(check: (r: this) => boolean, timeoutMs = 10_000, what = 'deliveries'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (Date.now() > deadline) {
        throw new Error(`receiver: timed out waiting for ${what} (received ${this.received.length}, rejected ${this.rejected.length})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const secret = this.secrets.get(path) ?? this.secret;
    const header = (name: string) => (req.headers[name] as string | undefined) ?? '';
    let json: Record<string, unknown>;
    try {
      if (!secret) throw new Error('the receiver has no secret for this path');
      json = new Webhook(secret).verify(body, {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      }) as Record<string, unknown>;
    } catch (err) {
      this.rejected.push({ path, reason: (err as Error).message, headers: req.headers });
      res.writeHead(401).end('bad signature');
      return;
    }
    const base = {
      path,
      webhookId: header('webhook-id'),
      timestamp: header('webhook-timestamp'),
      signature: header('webhook-signature'),
      body,
      json,
      headers: req.headers,
      at: Date.now(),
    };
    let status = 500;
    try {
      status = await this.respond(base);
    } finally {
      if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
      this.received.push({ ...base, status });
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `status ${status}`);
    }
  }
}
