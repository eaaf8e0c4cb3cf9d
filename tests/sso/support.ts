import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { createApp } from '../../src/app.js';
import type { Logger } from '../../src/logger.js';
import { SsoClient } from '../../src/sso/client.js';
import { nodeDocsAssets } from '../../src/system/node-assets.js';
import { nodeWebAssets } from '../../src/web/node-assets.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

export const CLIENT_ID = 'healthscore';
export const CLIENT_SECRET = 'a-client-secret-for-tests-only-0123456789';

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** The service with single sign-on against `issuer`, on its own port and database. */
export async function startSsoApp(issuer: () => string, options: { localPasswords?: boolean } = {}) {
  const database = await createTestDatabase();
  const logs: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => logs.push(JSON.stringify({ level, msg, ...fields }));
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  let app: ReturnType<typeof createApp> | undefined;
  // Built at the first request: the provider starts after this service (it needs its URL), and the service needs the provider's.
  const appFor = () => {
    const sso = new SsoClient({ issuer: issuer(), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUrl: `${url}/sso/callback`, scopes: 'openid email profile groups', groupsClaim: 'groups', allowHttp: true });
    return createApp({ database: () => database.db, logger, docsAssets: nodeDocsAssets, webAssets: nodeWebAssets, sso, localPasswords: options.localPasswords ?? false });
  };
  const server = serve({ fetch: (req, env) => (app ??= appFor()).fetch(req, env), port: 0, hostname: '127.0.0.1' }) as unknown as Server;
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, db: database.db, database, logs, close: async () => (await closeServer(server), await database.close()) };
}

export interface Directory {
  [login: string]: { email: string; name: string; groups: string[] };
}

/** A real OpenID provider (oidc-provider) on loopback, with its development login pages. */
export async function startOidcProvider(appUrl: () => string, directory: Directory) {
  const server = createServer();
  const issuer = await listen(server);
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${appUrl()}/sso/callback`],
        post_logout_redirect_uris: [`${appUrl()}/sign-in`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const person = directory[id];
      if (!person) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: person.email, email_verified: true, name: person.name, groups: person.groups }) };
    },
  });
  server.on('request', provider.callback());
  return { issuer, provider, close: () => closeServer(server) };
}

/**
 * A hand-made issuer for the checks a well-behaved provider never fails:
 * it answers every authorization at once and signs the ID token with the
 * audience, expiry and key the test asks for.
 */
export async function startCraftedIssuer(appUrl: () => string) {
  const server = createServer();
  const issuer = await listen(server);
  const keys: { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"]; jwk: JWK }[] = [];
  const addKey = async (kid: string) => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    keys.unshift({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } });
  };
  await addKey('k1');
  const next: { aud?: string; expiresIn?: number } = {};
  const codes = new Map<string, { nonce: string }>();
  let issued = 0;
  server.on('request', async (req, res) => {
    const url = new URL(req.url!, issuer);
    const json = (body: unknown, status = 200) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') return json({ keys: keys.map((k) => k.jwk) });
    if (url.pathname === '/authorize') {
      const code = `code-${++issued}`;
      codes.set(code, { nonce: url.searchParams.get('nonce')! });
      res.writeHead(302, { location: `${appUrl()}/sso/callback?code=${code}&state=${encodeURIComponent(url.searchParams.get('state')!)}` });
      return res.end();
    }
    if (url.pathname === '/token') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const code = new URLSearchParams(body).get('code')!;
      const grant = codes.get(code);
      if (!grant) return json({ error: 'invalid_grant' }, 400);
      codes.delete(code);
      const now = Math.floor(Date.now() / 1000);
      const key = keys[0]!;
      const idToken = await new SignJWT({ nonce: grant.nonce, email: 'crafted@example.com', email_verified: true, name: 'Crafted', groups: ['cs-team'] })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .setIssuer(issuer)
        .setSubject('crafted-1')
        .setAudience(next.aud ?? CLIENT_ID)
        .setIssuedAt(now - 3600 * (next.expiresIn !== undefined && next.expiresIn < 0 ? 2 : 0))
        .setExpirationTime(now + (next.expiresIn ?? 300))
        .sign(key.privateKey);
      return json({ access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    res.writeHead(404).end();
  });
  return {
    issuer,
    next,
    /** A new signing key, published beside the old one and used from now on. */
    rotate: (kid: string) => addKey(kid),
    close: () => closeServer(server),
  };
}

/** A minimal cookie jar over fetch, following no redirects: each hop is checked. */
export function browserless() {
  const jar = new Map<string, string>();
  const fetchWithCookies = async (url: string) => {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=');
      if (v === '' || /max-age=0/i.test(c)) jar.delete(k!);
      else jar.set(k!, v!);
    }
    return res;
  };
  return { fetch: fetchWithCookies, jar };
}
