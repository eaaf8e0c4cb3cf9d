import { createServer } from 'node:http';

/**
 * Entry of the bench's webhook receiver process: answers every POST 200 at
 * once and notes the `webhook-id` and arrival time (epoch ms, sub-ms
 * resolution) of each. Nothing is verified here (tests do that with the
 * standardwebhooks package); the receiver is only the far end of the
 * network. On the message 'report' it sends what it noted and forgets it.
 */
const now = () => performance.timeOrigin + performance.now();
let arrivals: [string, number][] = [];

const server = createServer((req, res) => {
  const at = now();
  const id = String(req.headers['webhook-id'] ?? '');
  req.resume();
  req.on('end', () => {
    arrivals.push([id, at]);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});

process.on('message', (message) => {
  if (message === 'report') {
    process.send?.({ arrivals });
    arrivals = [];
  } else if (message === 'stop') {
    server.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
