import postgres from 'postgres';

export const DEFAULT_BENCH_URL = 'postgres://postgres@127.0.0.1:5432/healthscore_bench';

/**
 * Drops and recreates the database named in `url`, connecting to the server's
 * `postgres` database to do so. Refuses names without "bench" in them, so a
 * mistyped BENCH_DATABASE_URL cannot drop a real database.
 */
export async function recreateDatabase(url: string) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/bench/i.test(name)) throw new Error(`refusing to drop "${name}": the bench database name must contain "bench"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql`drop database if exists ${sql(name)} with (force)`;
    await sql`create database ${sql(name)}`;
  } finally {
    await sql.end();
  }
}
