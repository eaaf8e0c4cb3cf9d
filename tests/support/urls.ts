/** The same server, another database. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Where to run CREATE/DROP DATABASE: the server's own `postgres` database. */
export const adminUrl = (url: string) => databaseUrl(url, 'postgres');
