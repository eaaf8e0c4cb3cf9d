import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { sha256Hex } from '../encoding.js';
import { isRole, type Role, ROLES } from '../people/roles.js';
import type { PendingSignIn, SsoIdentity } from './client.js';

type Db = Kysely<Database>;

/** How long an authorization request may take to come back. */
export const PENDING_TTL_MS = 10 * 60_000;

export interface GroupMapping {
  group: string;
  roles: Role[];
}

export async function listGroupMappings(db: Db): Promise<GroupMapping[]> {
  const rows = await db.selectFrom('sso_group_roles').select(['group_name', 'roles']).orderBy('group_name').execute();
  return rows.map((r) => ({ group: r.group_name, roles: r.roles.filter(isRole) }));
}

/** Sets (or with no roles, removes) the roles of one group. */
export async function setGroupMapping(db: Db, group: string, roles: readonly Role[]): Promise<void> {
  if (roles.length === 0) {
    await db.deleteFrom('sso_group_roles').where('group_name', '=', group).execute();
    return;
  }
  const unique = ROLES.filter((r) => roles.includes(r));
  await db
    .insertInto('sso_group_roles')
    .values({ group_name: group, roles: unique })
    .onConflict((oc) => oc.column('group_name').doUpdateSet({ roles: unique, updated_at: sql`now()` }).where(sql<boolean>`sso_group_roles.roles is distinct from excluded.roles`))
    .execute();
}

/** Replaces the whole mapping (the API's PUT). */
export async function replaceGroupMappings(db: Db, mappings: readonly GroupMapping[]): Promise<void> {
  const keep = mappings.map((m) => m.group);
  let del = db.deleteFrom('sso_group_roles');
  if (keep.length) del = del.where('group_name', 'not in', keep);
  await del.execute();
  for (const m of mappings) await setGroupMapping(db, m.group, m.roles);
}

/** The roles these groups grant, in ROLES order; empty: no access. */
export async function rolesForGroups(db: Db, groups: readonly string[]): Promise<Role[]> {
  if (groups.length === 0) return [];
  const rows = await db.selectFrom('sso_group_roles').select('roles').where('group_name', 'in', [...groups]).execute();
  const granted = new Set(rows.flatMap((r) => r.roles));
  return ROLES.filter((r) => granted.has(r));
}

export async function savePending(db: Db, pending: PendingSignIn, next: string | null): Promise<void> {
  await db.deleteFrom('sso_pending').where('created_at', '<', new Date(Date.now() - PENDING_TTL_MS)).execute();
  await db
    .insertInto('sso_pending')
    .values({ state_hash: await sha256Hex(pending.state), code_verifier: pending.codeVerifier, nonce: pending.nonce, next_path: next })
    .execute();
}

/** Takes (and so uses up) the request a state belongs to: a state comes back once. */
export async function takePending(db: Db, state: string): Promise<(PendingSignIn & { next: string | null }) | undefined> {
  const row = await db
    .deleteFrom('sso_pending')
    .where('state_hash', '=', await sha256Hex(state))
    .where('created_at', '>', new Date(Date.now() - PENDING_TTL_MS))
    .returning(['code_verifier', 'nonce', 'next_path'])
    .executeTakeFirst();
  return row && { state, nonce: row.nonce, codeVerifier: row.code_verifier, next: row.next_path };
}

export type SignInOutcome =
  | { kind: 'ok'; personId: number; roles: Role[] }
  | { kind: 'no_access'; email: string; groups: string[] }
  | { kind: 'disabled' }
  | { kind: 'no_email' }
  | { kind: 'email_taken'; email: string };

/**
 * Just-in-time provisioning: the person of this subject, created on their
 * first sign-in and brought up to date (email, name, groups, roles) at each
 * one. An existing person with the same email is linked only when the
 * provider vouches for the address (email_verified). Roles always follow
 * the mapping: a person whose groups map to nothing keeps no role.
 */
export async function signInWithIdentity(db: Db, identity: SsoIdentity): Promise<SignInOutcome> {
  const roles = await rolesForGroups(db, identity.groups);
  let person = await db.selectFrom('people').select(['id', 'email', 'disabled_at']).where('sso_subject', '=', identity.subject).executeTakeFirst();
  if (!person && identity.email && identity.emailVerified) {
    person = await db.selectFrom('people').select(['id', 'email', 'disabled_at']).where('email', '=', identity.email).where('sso_subject', 'is', null).executeTakeFirst();
  }
  if (person?.disabled_at) return { kind: 'disabled' };
  const email = identity.email ?? person?.email;
  if (!email) return { kind: 'no_email' };
  const name = identity.name?.slice(0, 200) || email;
  const holder = await db.selectFrom('people').select('id').where('email', '=', email).executeTakeFirst();
  if (holder && holder.id !== person?.id) return { kind: 'email_taken', email };
  if (person) {
    await db
      .updateTable('people')
      .set({ sso_subject: identity.subject, email, name, idp_groups: identity.groups, roles, updated_at: sql`now()` })
      .where('id', '=', person.id)
      .execute();
  } else {
    if (roles.length === 0) return { kind: 'no_access', email, groups: identity.groups };
    person = await db
      .insertInto('people')
      .values({ email, name, roles, password_hash: null, source: 'sso', sso_subject: identity.subject, idp_groups: identity.groups })
      .returning(['id', 'email', 'disabled_at'])
      .executeTakeFirstOrThrow();
  }
  if (roles.length === 0) {
    // Their groups no longer map to anything: no session survives either.
    await db.deleteFrom('web_sessions').where('person_id', '=', person.id).execute();
    return { kind: 'no_access', email, groups: identity.groups };
  }
  return { kind: 'ok', personId: person.id, roles };
}
