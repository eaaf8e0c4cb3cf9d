import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { DomainError } from '../http/problem.js';
import { deactivatePerson } from '../people/handback.js';
import { normaliseEmail } from '../people/repository.js';
import { rolesForGroups } from '../sso/repository.js';
import type { EqFilter } from './filter.js';

type Db = Kysely<Database>;

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** What a SCIM user is here: a person (userName = email). */
export interface UserFields {
  userName: string;
  externalId?: string | null;
  displayName?: string | null;
  active: boolean;
}

const userColumns = ['id', 'email', 'name', 'external_id', 'disabled_at', 'created_at', 'updated_at'] as const;
type UserRow = { id: number; email: string; name: string; external_id: string | null; disabled_at: Date | null; created_at: Date; updated_at: Date };

export function userResource(row: UserRow, groups: { id: number; display_name: string }[]) {
  const [givenName, ...rest] = row.name.split(' ');
  return {
    schemas: [USER_SCHEMA],
    id: String(row.id),
    ...(row.external_id ? { externalId: row.external_id } : {}),
    userName: row.email,
    displayName: row.name,
    name: { formatted: row.name, givenName: givenName ?? row.name, familyName: rest.join(' ') },
    emails: [{ value: row.email, type: 'work', primary: true }],
    active: row.disabled_at === null,
    groups: groups.map((g) => ({ value: String(g.id), display: g.display_name, $ref: `/scim/v2/Groups/${g.id}` })),
    meta: { resourceType: 'User', created: row.created_at.toISOString(), lastModified: row.updated_at.toISOString(), location: `/scim/v2/Users/${row.id}` },
  };
}

export const idOf = (value: string) => (/^[1-9]\d{0,15}$/.test(value) ? Number(value) : undefined);

async function groupsOf(db: Db, personIds: number[]) {
  if (personIds.length === 0) return new Map<number, { id: number; display_name: string }[]>();
  const rows = await db
    .selectFrom('scim_group_members as m')
    .innerJoin('scim_groups as g', 'g.id', 'm.group_id')
    .select(['m.person_id', 'g.id', 'g.display_name'])
    .where('m.person_id', 'in', personIds)
    .orderBy('g.id')
    .execute();
  const out = new Map<number, { id: number; display_name: string }[]>();
  for (const r of rows) out.set(r.person_id, [...(out.get(r.person_id) ?? []), { id: r.id, display_name: r.display_name }]);
  return out;
}

export async function findUser(db: Db, id: number) {
  const row = await db.selectFrom('people').select(userColumns).where('id', '=', id).executeTakeFirst();
  return row && userResource(row, (await groupsOf(db, [row.id])).get(row.id) ?? []);
}

export async function listUsers(db: Db, filter: EqFilter | undefined, startIndex: number, count: number) {
  let q = db.selectFrom('people');
  if (filter) {
    if (filter.attribute === 'userName' || filter.attribute === 'emails.value') q = q.where('email', '=', normaliseEmail(filter.value));
    else if (filter.attribute === 'externalId') q = q.where('external_id', '=', filter.value);
    else if (filter.attribute === 'id') q = q.where('id', '=', idOf(filter.value) ?? -1);
    else if (filter.attribute === 'displayName') q = q.where('name', '=', filter.value);
  }
  const total = (await q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const rows = count === 0 ? [] : await q.select(userColumns).orderBy('id').offset(startIndex - 1).limit(count).execute();
  const groups = await groupsOf(db, rows.map((r) => r.id));
  return { total, resources: rows.map((r) => userResource(r, groups.get(r.id) ?? [])) };
}

const checkEmail = (userName: string) => {
  const email = normaliseEmail(userName);
  if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 320) throw new DomainError('validation_failed', 'userName must be an email address', { scimType: 'invalidValue' });
  return email;
};

/** Creates a person with no password and no role until a mapped group grants one. */
export async function createUser(trx: Db, fields: UserFields) {
  const email = checkEmail(fields.userName);
  const row = await trx
    .insertInto('people')
    .values({ email, name: fields.displayName?.slice(0, 200) || email, roles: [], password_hash: null, source: 'scim', external_id: fields.externalId ?? null, disabled_at: fields.active ? null : sql`now()` })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row) throw new DomainError('conflict', `a user with userName ${email} (or this externalId) exists`);
  return row.id;
}

/** Applies the fields of a PUT or a PATCH; active=false hands the person's work back (deactivatePerson). */
export async function updateUser(trx: Db, id: number, fields: Partial<UserFields>) {
  const current = await trx.selectFrom('people').select(['id', 'disabled_at']).where('id', '=', id).forUpdate().executeTakeFirst();
  if (!current) return false;
  const set: Record<string, unknown> = {};
  if (fields.userName !== undefined) set.email = checkEmail(fields.userName);
  if (fields.externalId !== undefined) set.external_id = fields.externalId;
  if (fields.displayName) set.name = fields.displayName.slice(0, 200);
  if (Object.keys(set).length) {
    try {
      await trx.updateTable('people').set({ ...set, updated_at: sql`now()` }).where('id', '=', id).execute();
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new DomainError('conflict', 'another user has this userName or externalId');
      throw err;
    }
  }
  if (fields.active === false && !current.disabled_at) await deactivatePerson(trx, id);
  if (fields.active === true && current.disabled_at) await trx.updateTable('people').set({ disabled_at: null, updated_at: sql`now()` }).where('id', '=', id).execute();
  return true;
}

/** Deprovisioning: the person's work goes back to the pools, then the person goes. */
export async function deleteUser(trx: Db, id: number) {
  if (!(await deactivatePerson(trx, id))) return false;
  await trx.deleteFrom('people').where('id', '=', id).execute();
  return true;
}

/* Groups ------------------------------------------------------------ */

type GroupRow = { id: number; display_name: string; external_id: string | null; created_at: Date; updated_at: Date };

async function groupResource(db: Db, row: GroupRow, withMembers = true) {
  const members = withMembers
    ? await db
        .selectFrom('scim_group_members as m')
        .innerJoin('people as p', 'p.id', 'm.person_id')
        .select(['p.id', 'p.email'])
        .where('m.group_id', '=', row.id)
        .orderBy('p.id')
        .execute()
    : [];
  return {
    schemas: [GROUP_SCHEMA],
    id: String(row.id),
    ...(row.external_id ? { externalId: row.external_id } : {}),
    displayName: row.display_name,
    members: members.map((m) => ({ value: String(m.id), display: m.email, $ref: `/scim/v2/Users/${m.id}` })),
    meta: { resourceType: 'Group', created: row.created_at.toISOString(), lastModified: row.updated_at.toISOString(), location: `/scim/v2/Groups/${row.id}` },
  };
}

const groupColumns = ['id', 'display_name', 'external_id', 'created_at', 'updated_at'] as const;

export async function findGroup(db: Db, id: number, withMembers = true) {
  const row = await db.selectFrom('scim_groups').select(groupColumns).where('id', '=', id).executeTakeFirst();
  return row && groupResource(db, row, withMembers);
}

export async function listGroups(db: Db, filter: EqFilter | undefined, startIndex: number, count: number, withMembers: boolean) {
  let q = db.selectFrom('scim_groups');
  if (filter) {
    if (filter.attribute === 'displayName') q = q.where('display_name', '=', filter.value);
    else if (filter.attribute === 'externalId') q = q.where('external_id', '=', filter.value);
    else if (filter.attribute === 'id') q = q.where('id', '=', idOf(filter.value) ?? -1);
  }
  const total = (await q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const rows = count === 0 ? [] : await q.select(groupColumns).orderBy('id').offset(startIndex - 1).limit(count).execute();
  return { total, resources: await Promise.all(rows.map((r) => groupResource(db, r, withMembers))) };
}

/** A person's roles follow their groups through the SSO mapping (sso_group_roles). */
async function syncRoles(trx: Db, personIds: number[]) {
  for (const id of new Set(personIds)) {
    const groups = (
      await trx.selectFrom('scim_group_members as m').innerJoin('scim_groups as g', 'g.id', 'm.group_id').select('g.display_name').where('m.person_id', '=', id).execute()
    ).map((g) => g.display_name);
    const roles = await rolesForGroups(trx, groups);
    await trx.updateTable('people').set({ idp_groups: groups, roles, updated_at: sql`now()` }).where('id', '=', id).execute();
  }
}

async function existingPeople(trx: Db, ids: string[]) {
  const numeric = ids.map(idOf);
  if (numeric.some((n) => n === undefined)) throw new DomainError('validation_failed', 'members must be user ids', { scimType: 'invalidValue' });
  if (numeric.length === 0) return [];
  const rows = await trx.selectFrom('people').select('id').where('id', 'in', numeric as number[]).execute();
  if (rows.length !== new Set(numeric).size) throw new DomainError('not_found', 'a member names no user here');
  return rows.map((r) => r.id);
}

export async function createGroup(trx: Db, displayName: string, externalId: string | null, memberIds: string[]) {
  const row = await trx
    .insertInto('scim_groups')
    .values({ display_name: displayName, external_id: externalId })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row) throw new DomainError('conflict', `a group named ${displayName} (or with this externalId) exists`);
  await addMembers(trx, row.id, memberIds);
  return row.id;
}

export async function addMembers(trx: Db, groupId: number, memberIds: string[]) {
  const people = await existingPeople(trx, memberIds);
  if (people.length === 0) return;
  await trx
    .insertInto('scim_group_members')
    .values(people.map((person_id) => ({ group_id: groupId, person_id })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  await syncRoles(trx, people);
}

/** Removes these members, or every member when `memberIds` is undefined. */
export async function removeMembers(trx: Db, groupId: number, memberIds: string[] | undefined) {
  let q = trx.deleteFrom('scim_group_members').where('group_id', '=', groupId);
  if (memberIds) {
    const ids = memberIds.map(idOf).filter((n): n is number => n !== undefined);
    if (ids.length === 0) return;
    q = q.where('person_id', 'in', ids);
  }
  const removed = await q.returning('person_id').execute();
  await syncRoles(trx, removed.map((r) => r.person_id));
}

export async function renameGroup(trx: Db, groupId: number, fields: { displayName?: string; externalId?: string | null }) {
  const set: Record<string, unknown> = {};
  if (fields.displayName) set.display_name = fields.displayName;
  if (fields.externalId !== undefined) set.external_id = fields.externalId;
  if (Object.keys(set).length === 0) return;
  try {
    await trx.updateTable('scim_groups').set({ ...set, updated_at: sql`now()` }).where('id', '=', groupId).execute();
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new DomainError('conflict', 'another group has this displayName or externalId');
    throw err;
  }
  // The mapping is by name: a renamed group may grant other roles.
  const members = await trx.selectFrom('scim_group_members').select('person_id').where('group_id', '=', groupId).execute();
  await syncRoles(trx, members.map((m) => m.person_id));
}

export async function groupExists(trx: Db, id: number) {
  return Boolean(await trx.selectFrom('scim_groups').select('id').where('id', '=', id).forUpdate().executeTakeFirst());
}

export async function deleteGroup(trx: Db, id: number) {
  const members = await trx.deleteFrom('scim_group_members').where('group_id', '=', id).returning('person_id').execute();
  const deleted = await trx.deleteFrom('scim_groups').where('id', '=', id).executeTakeFirst();
  await syncRoles(trx, members.map((m) => m.person_id));
  return Number(deleted.numDeletedRows) > 0;
}
