import { createApp } from '../src/app.js';
import { createEmbeddedDb } from '../src/db/embedded.js';
import { migrate } from '../src/db/node.js';
import { createLogger } from '../src/logger.js';
import { bootstrapAdminKey } from '../src/auth/repository.js';
const { db, close } = await createEmbeddedDb();
await migrate(db);
const key = await bootstrapAdminKey(db);
const app = createApp({ database: () => db, logger: createLogger('silent') });
const h = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
for (const [m, p, b] of [['GET','/v1/accounts/.'],['DELETE','/v1/accounts/..'],['GET','/v1/accounts/%2E'],['GET','/v1/accounts/%2e%2E'],['PUT','/v1/retention-pool/%0D1%C3%A8%7C'],['PUT','/v1/accounts/x1', '{"name":"bad \\ud800 name"}'], ['PUT','/v1/accounts/%20x', '{"name":"n"}']] as const) {
  const res = await app.request(p, { method: m, headers: h, body: b });
  console.log(m, p, res.status, res.headers.get('allow'), await res.text());
}
await close();
