import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { randomPassword } from './passwords.js';
import { createPerson, listPeople, PersonInputError, resetPassword, setRoles, findPersonByEmail } from './repository.js';
import { ROLES } from './roles.js';

type WithDatabase = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

export const PEOPLE_USAGE = `  people create --email E --name N --roles a,b
                                            add a person who signs in to the web app (roles: ${ROLES.join(', ')});
                                            prints a generated password once (or reads HEALTHSCORE_PASSWORD)
  people reset-password EMAIL               set a new password (printed once) and sign them out everywhere
  people roles EMAIL a,b                    replace a person's roles
  people list                               list people (never their passwords)`;

/** The password to set: HEALTHSCORE_PASSWORD when given (never a command-line argument, which shells keep), else a generated one. */
function passwordToSet(): { password: string; generated: boolean } {
  const fromEnv = process.env.HEALTHSCORE_PASSWORD;
  return fromEnv ? { password: fromEnv, generated: false } : { password: randomPassword(), generated: true };
}

export async function peopleCommand(args: string[], withDatabase: WithDatabase, usageError: (message: string) => Error): Promise<void> {
  const [action, ...rest] = args;
  try {
    if (action === 'create') {
      const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, name: { type: 'string' }, roles: { type: 'string' } } });
      if (!values.email || !values.roles) throw usageError('people create needs --email and --roles');
      const { password, generated } = passwordToSet();
      const roles = values.roles.split(',').map((r) => r.trim()).filter(Boolean);
      const person = await withDatabase((db) => createPerson(db, { email: values.email!, name: values.name ?? values.email!, roles, password }));
      console.log(`created ${person.email} (${person.roles.join(', ')})`);
      if (generated) console.log(`password (shown once): ${password}`);
      return;
    }
    if (action === 'reset-password') {
      const email = rest[0];
      if (!email) throw usageError('people reset-password needs an email');
      const { password, generated } = passwordToSet();
      const person = await withDatabase((db) => resetPassword(db, email, password));
      if (!person) throw new Error(`no person with email ${email}`);
      console.log(`new password set for ${person.email}; their sessions ended`);
      if (generated) console.log(`password (shown once): ${password}`);
      return;
    }
    if (action === 'roles') {
      const [email, roles] = rest;
      if (!email || !roles) throw usageError('people roles needs an email and roles');
      const updated = await withDatabase(async (db) => {
        const found = await findPersonByEmail(db, email);
        return found ? setRoles(db, found.id, roles.split(',').map((r) => r.trim())) : undefined;
      });
      if (!updated) throw new Error(`no person with email ${email}`);
      console.log(`${updated.email}: ${updated.roles.join(', ')}`);
      return;
    }
    if (action === 'list') {
      const people = await withDatabase((db) => listPeople(db));
      console.log(['email', 'name', 'roles', 'disabled'].join('\t'));
      for (const p of people) console.log([p.email, p.name, p.roles.join(','), p.disabledAt?.toISOString() ?? '-'].join('\t'));
      return;
    }
  } catch (err) {
    if (err instanceof PersonInputError) throw new Error(err.message);
    throw err;
  }
  throw usageError(`unknown people action: ${action ?? '(none)'}`);
}
