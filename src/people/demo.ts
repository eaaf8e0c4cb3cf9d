import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { randomPassword } from './passwords.js';
import { upsertPerson } from './repository.js';
import type { Role } from './roles.js';

/** One person per role; the CSM and the retention specialist own accounts of the demo portfolio. */
export const DEMO_PEOPLE: { email: string; name: string; role: Role }[] = [
  { email: 'dana.kim@example.com', name: 'Dana Kim', role: 'csm' },
  { email: 'jordan.lee@example.com', name: 'Jordan Lee', role: 'retention' },
  { email: 'dispatch@example.com', name: 'Wang Fang', role: 'dispatcher' },
  { email: 'manager@example.com', name: 'Chen Jing', role: 'manager' },
  { email: 'analyst@example.com', name: 'Liu Yang', role: 'analyst' },
  { email: 'admin@example.com', name: 'Zhou Min', role: 'admin' },
];

/** Creates (or resets) the demo team with one new random password, returned once. */
export async function createDemoPeople(db: Kysely<Database>, password = randomPassword()) {
  for (const p of DEMO_PEOPLE) await upsertPerson(db, { email: p.email, name: p.name, roles: [p.role], password });
  // The retention specialist works the demo's retention pool.
  await db.insertInto('retention_pool').values({ member: 'jordan.lee@example.com', added_by: 'demo' }).onConflict((oc) => oc.column('member').doNothing()).execute();
  return { people: DEMO_PEOPLE, password };
}

/** What `demo` prints after the data: how to sign in. */
export function signInInstructions(result: Awaited<ReturnType<typeof createDemoPeople>>, url = 'http://localhost:8787/'): string {
  const lines = [
    '',
    `web app: npm start, then open ${url} and sign in as one of (password for all: ${result.password}):`,
    ...result.people.map((p) => `  ${p.role.padEnd(11)} ${p.email}`),
    '(the password is shown only now; `npm run cli -- people reset-password EMAIL` sets a new one)',
  ];
  return lines.join('\n');
}
