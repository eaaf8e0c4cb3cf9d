import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { base64Url, randomBytes, sha256Hex } from '../encoding.js';
import { hashPassword, passwordProblem } from './passwords.js';
import { isRole, type Role } from './roles.js';

type Db = Kysely<Database>;

/** A person as pages and the CLI see them: never the password hash. */
export interface Person {
  id: number;
  email: string;
  name: string;
  roles: Role[];
  locale: string | null;
  disabledAt: Date | null;
  createdAt: Date;
}

const columns = ['id', 'email', 'name', 'roles', 'locale', 'disabled_at', 'created_at'] as const;

type PersonRow = { id: number; email: string; name: string; roles: string[]; locale: string | null; disabled_at: Date | null; created_at: Date };

const toPerson = (r: PersonRow): Person => ({
  id: r.id,
  email: r.email,
  name: r.name,
  roles: r.roles.filter(isRole),
  locale: r.locale,
  disabledAt: r.disabled_at,
  createdAt: r.created_at,
});

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export class PersonInputError extends Error {}

function checkRoles(roles: string[]): Role[] {
  const bad = roles.filter((r) => !isRole(r));
  if (bad.length) throw new PersonInputError(`unknown role ${bad.join(', ')}`);
  return [...new Set(roles)] as Role[];
}

export async function createPerson(db: Db, input: { email: string; name: string; roles: string[]; password: string }): Promise<Person> {
  const email = normaliseEmail(input.email);
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new PersonInputError('email must be an email address');
  const problem = passwordProblem(input.password);
  if (problem) throw new PersonInputError(`password ${problem}`);
  const roles = checkRoles(input.roles);
  const row = await db
    .insertInto('people')
    .values({ email, name: input.name.trim() || email, roles, password_hash: await hashPassword(input.password) })
    .onConflict((oc) => oc.column('email').doNothing())
    .returning(columns)
    .executeTakeFirst();
  if (!row) throw new PersonInputError(`a person with email ${email} exists`);
  return toPerson(row);
}

/** Creates the person, or sets name, roles and password of an existing one. */
export async function upsertPerson(db: Db, input: { email: string; name: string; roles: string[]; password: string }): Promise<Person> {
  const email = normaliseEmail(input.email);
  const problem = passwordProblem(input.password);
  if (problem) throw new PersonInputError(`password ${problem}`);
  const roles = checkRoles(input.roles);
  const hash = await hashPassword(input.password);
  const row = await db
    .insertInto('people')
    .values({ email, name: input.name, roles, password_hash: hash })
    .onConflict((oc) => oc.column('email').doUpdateSet({ name: input.name, roles, password_hash: hash, disabled_at: null, updated_at: sql`now()` }))
    .returning(columns)
    .executeTakeFirstOrThrow();
  await db.deleteFrom('web_sessions').where('person_id', '=', row.id).execute();
  return toPerson(row);
}

export async function listPeople(db: Db): Promise<Person[]> {
  return (await db.selectFrom('people').select(columns).orderBy('email').execute()).map(toPerson);
}

export async function findPerson(db: Db, id: number): Promise<Person | undefined> {
  const row = await db.selectFrom('people').select(columns).where('id', '=', id).executeTakeFirst();
  return row && toPerson(row);
}

export async function findPersonByEmail(db: Db, email: string) {
  return db
    .selectFrom('people')
    .select([...columns, 'password_hash'])
    .where('email', '=', normaliseEmail(email))
    .executeTakeFirst();
}

export async function setRoles(db: Db, id: number, roles: string[]): Promise<Person | undefined> {
  const row = await db.updateTable('people').set({ roles: checkRoles(roles), updated_at: sql`now()` }).where('id', '=', id).returning(columns).executeTakeFirst();
  return row && toPerson(row);
}

export async function setDisabled(db: Db, id: number, disabled: boolean): Promise<Person | undefined> {
  const row = await db
    .updateTable('people')
    .set({ disabled_at: disabled ? sql`now()` : null, updated_at: sql`now()` })
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirst();
  if (row && disabled) await db.deleteFrom('web_sessions').where('person_id', '=', id).execute();
  return row && toPerson(row);
}

/** Sets a new password and signs the person out everywhere. */
export async function resetPassword(db: Db, email: string, password: string): Promise<Person | undefined> {
  const problem = passwordProblem(password);
  if (problem) throw new PersonInputError(`password ${problem}`);
  const row = await db
    .updateTable('people')
    .set({ password_hash: await hashPassword(password), updated_at: sql`now()` })
    .where('email', '=', normaliseEmail(email))
    .returning(columns)
    .executeTakeFirst();
  if (row) await db.deleteFrom('web_sessions').where('person_id', '=', row.id).execute();
  return row && toPerson(row);
}

export async function setLocale(db: Db, id: number, locale: string) {
  await db.updateTable('people').set({ locale }).where('id', '=', id).execute();
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_MAX_MS = 7 * 86_400_000;

export interface Session {
  idHash: string;
  csrfToken: string;
  person: Person;
}

/** A new session with a fresh random id (never one the browser offered): returns the id for the cookie. */
export async function createSession(db: Db, personId: number, options: { ssoIdToken?: string } = {}): Promise<{ id: string; csrfToken: string }> {
  const id = base64Url(randomBytes(32));
  const csrfToken = base64Url(randomBytes(32));
  await db
    .insertInto('web_sessions')
    .values({ id_hash: await sha256Hex(id), person_id: personId, csrf_token: csrfToken, expires_at: new Date(Date.now() + SESSION_MAX_MS), sso_id_token: options.ssoIdToken ?? null })
    .execute();
  return { id, csrfToken };
}

/** The live session of a cookie value, sliding its idle timeout; undefined when unknown, expired or the person is disabled. */
export async function findSession(db: Db, id: string): Promise<Session | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const idHash = await sha256Hex(id);
  const row = await db
    .selectFrom('web_sessions as s')
    .innerJoin('people as p', 'p.id', 's.person_id')
    .select(['s.id_hash', 's.csrf_token', 's.last_seen_at', 'p.id', 'p.email', 'p.name', 'p.roles', 'p.locale', 'p.disabled_at', 'p.created_at'])
    .where('s.id_hash', '=', idHash)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('s.last_seen_at', '>', sql<Date>`now() - ${`${SESSION_IDLE_MS / 1000} seconds`}::interval`)
    .executeTakeFirst();
  if (!row || row.disabled_at) return undefined;
  if (Date.now() - row.last_seen_at.getTime() > 60_000) {
    await db.updateTable('web_sessions').set({ last_seen_at: sql`now()` }).where('id_hash', '=', idHash).execute();
  }
  return { idHash, csrfToken: row.csrf_token, person: toPerson(row) };
}

/** Ends a session; returns its ID token when it was a single sign-on session (for the provider's sign-out). */
export async function deleteSession(db: Db, idHash: string): Promise<string | null> {
  const row = await db.deleteFrom('web_sessions').where('id_hash', '=', idHash).returning('sso_id_token').executeTakeFirst();
  return row?.sso_id_token ?? null;
}

export async function pruneSessions(db: Db) {
  await db.deleteFrom('web_sessions').where('expires_at', '<', sql<Date>`now()`).execute();
  await db.deleteFrom('sign_in_failures').where('at', '<', sql<Date>`now() - interval '1 day'`).execute();
}

/* ------------------------------------------------------------------ */
/* Sign-in rate limit                                                  */

export const SIGN_IN_WINDOW_MS = 15 * 60_000;
/** Failures allowed per email, and per client address, within the window. */
export const SIGN_IN_LIMITS = { email: 5, client: 20 } as const;

/** Seconds until another attempt is allowed, or 0. */
export async function signInBlockedFor(db: Db, email: string, client: string): Promise<number> {
  const keys = [`email:${normaliseEmail(email)}`, `client:${client}`];
  const rows = await db
    .selectFrom('sign_in_failures')
    .select(['key', sql<number>`count(*)::int`.as('n'), sql<Date>`min(at)`.as('first')])
    .where('key', 'in', keys)
    .where('at', '>', new Date(Date.now() - SIGN_IN_WINDOW_MS))
    .groupBy('key')
    .execute();
  let wait = 0;
  for (const r of rows) {
    const limit = r.key.startsWith('email:') ? SIGN_IN_LIMITS.email : SIGN_IN_LIMITS.client;
    if (r.n >= limit) wait = Math.max(wait, Math.ceil((new Date(r.first).getTime() + SIGN_IN_WINDOW_MS - Date.now()) / 1000));
  }
  return Math.max(0, wait);
}

export async function recordSignInFailure(db: Db, email: string, client: string) {
  await db
    .insertInto('sign_in_failures')
    .values([{ key: `email:${normaliseEmail(email)}` }, { key: `client:${client}` }])
    .execute();
}

export async function clearSignInFailures(db: Db, email: string) {
  await db.deleteFrom('sign_in_failures').where('key', '=', `email:${normaliseEmail(email)}`).execute();
}
